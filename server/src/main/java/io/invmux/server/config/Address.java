package io.invmux.server.config;

/**
 * Where a listener of the sidecar binds: a TCP {@code host:port} ({@link TcpAddress}) or, for the control API only,
 * a Unix domain socket {@code unix:///absolute/path} ({@link UnixAddress}). {@link #toString()} gives the text form
 * the configuration accepts.
 */
public sealed interface Address permits TcpAddress, UnixAddress {

    /**
     * Parses {@code host:port} or {@code unix:///absolute/path}.
     *
     * @param zeroPortAllowed whether port 0 (any free port) is accepted
     * @throws IllegalArgumentException naming the rule the text breaks
     */
    static Address parse(String text, boolean zeroPortAllowed) {
        if (text.regionMatches(true, 0, "unix:", 0, 5)) {
            return UnixAddress.parse(text);
        }
        return TcpAddress.parse(text, zeroPortAllowed);
    }
}
