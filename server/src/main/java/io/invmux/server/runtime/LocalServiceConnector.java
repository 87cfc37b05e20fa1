package io.invmux.server.runtime;

import io.invmux.Stream;
import java.net.InetSocketAddress;

/** Delivers a stream to a local TCP address (the TCP forwarding proxy's receiving half). */
@FunctionalInterface
public interface LocalServiceConnector {
    /**
     * Connects to {@code target}, the address of {@code service}, and carries the stream's bytes both ways until
     * both ends are done.
     */
    void connect(Stream stream, String service, InetSocketAddress target);
}
