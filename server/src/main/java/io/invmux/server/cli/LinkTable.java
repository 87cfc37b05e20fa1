package io.invmux.server.cli;

import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.LinkState;
import java.util.Collection;
import java.util.Locale;

/** Renders links as a fixed-width table, one row per link. */
final class LinkTable {
    private LinkTable() {
    }

    static String render(Collection<Link> links) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-10s %-12s %-5s %-24s %-10s %4s %9s %11s %7s %6s %10s %10s%n",
                "SESSION", "PEER", "LINK", "REMOTE", "STATE", "PRIO", "RTT(ms)", "RATE(Mb/s)", "LOSS%", "SCORE",
                "SENT(MiB)", "QUEUED(KiB)"));
        for (Link l : links) {
            sb.append(String.format(Locale.ROOT, "%-10s %-12s %-5s %-24s %-10s %4d %9.2f %11.2f %7.2f %6.2f %10.1f %10d%n",
                    abbreviate(l.getSessionId(), 10), abbreviate(l.getPeer(), 12), l.getLinkId(),
                    abbreviate(l.getRemoteAddress(), 24), state(l.getState()), l.getPriority(),
                    l.getQuality().getRtt().getSeconds() * 1e3 + l.getQuality().getRtt().getNanos() / 1e6,
                    l.getQuality().getBandwidthBytesPerSecond() * 8 / 1e6, l.getQuality().getPacketLoss() * 100,
                    l.getQuality().getScore(), l.getBytesSent() / 1048576.0, l.getQueuedBytes() / 1024));
        }
        return sb.toString();
    }

    static String state(LinkState s) {
        return s.name().replace("LINK_STATE_", "").toLowerCase(Locale.ROOT);
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "~";
    }
}
