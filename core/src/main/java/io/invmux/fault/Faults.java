package io.invmux.fault;

/**
 * The faults a {@link FaultProxy} applies right now. Immutable: the proxy swaps in a new instance on every command
 * and the event loops read the current one per chunk, so a command takes effect without locking the data path.
 *
 * @param delayNanos     one-way delay added to every chunk, each direction (0 = none)
 * @param bytesPerSecond rate limit per direction per connection (0 = unlimited)
 * @param blackholed     forward nothing and stop reading, both directions (a path that loses every packet)
 * @param dropping       discard every byte, both directions, and keep reading (a middlebox eating data)
 */
record Faults(long delayNanos, long bytesPerSecond, boolean blackholed, boolean dropping) {
    static final Faults NONE = new Faults(0, 0, false, false);

    Faults withDelay(long nanos) {
        return new Faults(nanos, bytesPerSecond, blackholed, dropping);
    }

    Faults withRate(long rate) {
        return new Faults(delayNanos, rate, blackholed, dropping);
    }

    Faults withBlackholed(boolean on) {
        return new Faults(delayNanos, bytesPerSecond, on, false);
    }

    Faults withDropping(boolean on) {
        return new Faults(delayNanos, bytesPerSecond, false, on);
    }
}
