package io.invmux.server.admin;

import io.invmux.Connection;
import io.invmux.Session;
import io.invmux.SessionStats;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@code link} label of a link's series: its path, written so that it stays the same when the link is
 * redialed, which session and link ids (random, new on every redial) do not.
 *
 * <ul>
 *   <li>on the dialing side, the address it dialed ({@code 10.0.0.5:7700});
 *   <li>on the accepting side, the remote host and the listener address it reached ({@code 10.0.0.7->10.0.0.5:7700}):
 *       the remote port is left out, since it is a new ephemeral port on every redial.
 * </ul>
 *
 * Two links of one peer on the same path (the same address dialed twice) are told apart by a suffix {@code #2},
 * {@code #3}, ... in link id order, so each series has one writer; at most {@code maxLinksPerSession} values per
 * path. Not thread-safe: one instance per scrape.
 */
final class LinkLabels {
    /** Links seen so far this scrape, by peer and path. */
    private final Map<String, Integer> seen = new HashMap<>();

    /**
     * The {@code peer} label of a session: its peer's name; an accepted session whose peer has not said who it is
     * yet (named by its first link's remote {@code host:port}) is known by the host without the port, which is new
     * on every redial.
     */
    static String peer(boolean dialer, Session session, String peer) {
        return dialer || session.peerIdentity().isPresent() ? peer : host(peer);
    }

    /** The path of one link, before any suffix. */
    static String path(boolean dialer, String remoteAddress, String localAddress) {
        if (dialer || localAddress.isEmpty()) {
            return remoteAddress;
        }
        return host(remoteAddress) + "->" + localAddress;
    }

    /** {@code host} of {@code host:port} or {@code [v6]:port}; anything else as it is. */
    static String host(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || hostPort.indexOf(']') > colon) {
            return hostPort;
        }
        for (int i = colon + 1; i < hostPort.length(); i++) {
            if (!Character.isDigit(hostPort.charAt(i))) {
                return hostPort;
            }
        }
        return colon + 1 == hostPort.length() ? hostPort : hostPort.substring(0, colon);
    }

    /** The label of the next link of {@code peer}; call in link id order for stable suffixes. */
    String next(String peer, boolean dialer, SessionStats.LinkStats link, Connection connection) {
        String path = path(dialer, link.remoteAddress(), connection == null ? "" : connection.localAddress());
        int n = seen.merge(peer + '\n' + path, 1, Integer::sum);
        return n == 1 ? path : path + "#" + n;
    }
}
