package io.invmux.internal.compress;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The calling thread's CPU time in nanoseconds, where the JVM measures it (else the wall clock). Compression is
 * timed with it, not the wall clock: on a shared machine a descheduled loop would otherwise count other
 * processes' time as its own compression. A reading costs a few hundred nanoseconds, small beside compressing a
 * chunk, so it is only taken around the codec calls.
 */
public final class CpuClock {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean SUPPORTED = THREADS.isCurrentThreadCpuTimeSupported();

    private CpuClock() {
    }

    public static long now() {
        return SUPPORTED ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }
}
