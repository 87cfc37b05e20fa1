package io.invmux.server.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Objects;

/** A Unix domain socket, written {@code unix:///absolute/path}. */
public record UnixAddress(Path path) implements Address {

    public UnixAddress {
        Objects.requireNonNull(path, "path");
        if (!path.toString().startsWith("/")) {
            throw new IllegalArgumentException("unix socket path must be absolute, got " + path);
        }
    }

    /**
     * Parses {@code unix:///absolute/path} (also {@code unix:/absolute/path}).
     *
     * @throws IllegalArgumentException naming the rule the text breaks
     */
    public static UnixAddress parse(String text) {
        String rule = "must be unix:///absolute/path";
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(rule + " (" + e.getReason() + ")");
        }
        if (!"unix".equalsIgnoreCase(uri.getScheme()) || uri.isOpaque()) {
            throw new IllegalArgumentException(rule);
        }
        if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()) {
            throw new IllegalArgumentException(rule + " (three slashes: no host between // and the path)");
        }
        if (uri.getQuery() != null || uri.getFragment() != null) {
            throw new IllegalArgumentException(rule + " (no query or fragment)");
        }
        String path = uri.getPath();
        if (path == null || path.length() < 2 || !path.startsWith("/") || path.endsWith("/")) {
            throw new IllegalArgumentException(rule + " naming a socket file");
        }
        return new UnixAddress(Path.of(path));
    }

    /** {@code unix:///absolute/path}: the form {@link #parse} accepts. */
    @Override
    public String toString() {
        return "unix://" + path;
    }
}
