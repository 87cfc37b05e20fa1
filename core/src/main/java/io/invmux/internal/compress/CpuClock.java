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

    /**
     * The time the calling thread has wanted a CPU, in nanoseconds: its CPU time plus the time it waited, runnable,
     * for one (Linux {@code /proc/thread-self/schedstat}). A loop thread that wants a CPU all the time is saturated
     * even when a loaded machine gives it a tenth of one. Where schedstat is missing: the CPU time alone. A reading
     * costs a small file read, so it is taken once per decision epoch, not per chunk.
     */
    public static long demand() {
        if (SCHEDSTAT != null) {
            try {
                String[] f = new String(java.nio.file.Files.readAllBytes(SCHEDSTAT),
                        java.nio.charset.StandardCharsets.US_ASCII).trim().split(" ");
                return Long.parseLong(f[0]) + Long.parseLong(f[1]);
            } catch (java.io.IOException | RuntimeException e) {
                // fall through
            }
        }
        return now();
    }

    private static final java.nio.file.Path SCHEDSTAT = schedstat();

    private static java.nio.file.Path schedstat() {
        java.nio.file.Path p = java.nio.file.Path.of("/proc/thread-self/schedstat");
        try {
            String[] f = new String(java.nio.file.Files.readAllBytes(p), java.nio.charset.StandardCharsets.US_ASCII)
                    .trim().split(" ");
            Long.parseLong(f[1]);
            return p;
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }
}
