package io.invmux.server.config;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A TCP {@code host:port}. The host is a hostname, an IPv4 address or an IPv6 address (written in brackets in the
 * text form, {@code [::1]:7701}, and held without them here). Port 0 means "any free port" where a listener allows
 * it.
 */
public record TcpAddress(String host, int port) implements Address {
    private static final Pattern HOSTNAME = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                    + "[A-Za-z0-9_])?)*\\.?");
    private static final Pattern IPV4_LIKE = Pattern.compile("[0-9.]+");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?");

    public TcpAddress {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0 to 65535, got " + port);
        }
    }

    /**
     * Parses {@code host:port}.
     *
     * @param zeroPortAllowed whether port 0 (any free port) is accepted
     * @throws IllegalArgumentException naming the rule the text breaks
     */
    public static TcpAddress parse(String text, boolean zeroPortAllowed) {
        String example = " (e.g. 127.0.0.1:7701 or [::1]:7701)";
        int colon = text.lastIndexOf(':');
        if (text.isEmpty() || colon < 0) {
            throw new IllegalArgumentException("must be host:port" + example);
        }
        String host = text.substring(0, colon);
        String portText = text.substring(colon + 1);
        if (host.startsWith("[")) {
            if (!host.endsWith("]") || !IPV6.matcher(host.substring(1, host.length() - 1)).matches()) {
                throw new IllegalArgumentException("must be host:port with a valid IPv6 address in brackets"
                        + example);
            }
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("must be host:port; write IPv6 addresses in brackets, e.g. [::1]:7701");
        } else if (host.isEmpty()) {
            throw new IllegalArgumentException("must be host:port with a host (use 0.0.0.0 for every address)"
                    + example);
        } else if (!validHost(host)) {
            throw new IllegalArgumentException("must be host:port with a valid hostname or IP address" + example);
        }
        int min = zeroPortAllowed ? 0 : 1;
        int port = -1;
        if (portText.matches("[0-9]{1,5}")) {
            port = Integer.parseInt(portText);
        }
        if (port < min || port > 65535) {
            throw new IllegalArgumentException("must be host:port with a port from " + min + " to 65535" + example);
        }
        return new TcpAddress(host, port);
    }

    static boolean validHost(String host) {
        if (IPV4_LIKE.matcher(host).matches()) {
            String[] parts = host.split("\\.", -1);
            if (parts.length != 4) {
                return false;
            }
            for (String p : parts) {
                if (p.isEmpty() || p.length() > 3 || Integer.parseInt(p) > 255) {
                    return false;
                }
            }
            return true;
        }
        return HOSTNAME.matcher(host).matches();
    }

    /** A socket address for binding or connecting; resolves the host name (may block on DNS). */
    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    /**
     * Whether the host is a loopback address (127.0.0.0/8, ::1, or a name resolving to one), which only this
     * machine reaches; a name that does not resolve counts as reachable from elsewhere. May block on DNS.
     */
    public boolean isLoopback() {
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** {@code host:port}, with an IPv6 host in brackets: the form {@link #parse} accepts. */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
