package io.invmux.server.proxy;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link TcpForwarder} or {@link TcpServiceConnector}. Any thread updates and reads them; a read
 * is a best-effort snapshot of each counter on its own.
 *
 * <p>"In" and "out" are seen from the local TCP peer's side of the bridge: bytes in were read from a local socket
 * and written into a stream, bytes out came from a stream and were written to a local socket.
 */
public final class ProxyStats {
    private final LongAdder accepted = new LongAdder();
    private final LongAdder active = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();

    /** Connections taken on so far (accepted sockets for a forwarder, accepted streams for a connector). */
    public long connectionsAccepted() {
        return accepted.sum();
    }

    /** Connections being set up or bridged now. */
    public long connectionsActive() {
        return active.sum();
    }

    /** Connections that could not be set up: no stream could be opened, or the target refused. */
    public long connectionsFailed() {
        return failed.sum();
    }

    /** Bytes read from local sockets and accepted by streams. */
    public long bytesIn() {
        return bytesIn.sum();
    }

    /** Bytes from streams that local sockets have taken. */
    public long bytesOut() {
        return bytesOut.sum();
    }

    void connectionStarted() {
        accepted.increment();
        active.increment();
    }

    void connectionEnded() {
        active.decrement();
    }

    void connectionFailed() {
        failed.increment();
    }

    void addBytesIn(long n) {
        bytesIn.add(n);
    }

    void addBytesOut(long n) {
        bytesOut.add(n);
    }

    @Override
    public String toString() {
        return "accepted=" + connectionsAccepted() + " active=" + connectionsActive() + " failed="
                + connectionsFailed() + " bytesIn=" + bytesIn() + " bytesOut=" + bytesOut();
    }
}
