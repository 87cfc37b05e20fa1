package io.invmux.bench;

import static io.invmux.bench.BenchSupport.fmt;
import static io.invmux.bench.BenchSupport.log;

import io.invmux.Config;
import io.invmux.Connection;
import io.invmux.TlsSettings;
import io.invmux.bench.BenchSupport.Args;
import io.invmux.bench.BenchSupport.SessionPair;
import io.invmux.tls.CertificateAuthority;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What TLS costs: 1 stream over 1 {@code tls://} link vs 1 stream over 1 {@code tcp://} link, reps interleaved in
 * one run (the same transfer as {@link ThroughputBench}); then the time to open and join one more link to a live
 * session, {@code tls://} vs {@code tcp://} (TCP connect, TLS 1.3 handshake with both certificates checked, the
 * three HELLOs), median and p99 over {@code --joins} links each.
 *
 * <pre>
 *   --bytes SIZE   bytes per rep, default 1 GiB (quick: 128 MiB)
 *   --reps N       measured reps of each side, default 7; then at least --warmup N (default 3) warm-up reps
 *                  first, more while the JIT threads use >= 5% of a rep's CPU, up to --max-warmup (default 12)
 *   --joins N      links joined per transport for the handshake figures, default 200
 *   --target R     target ratio tls/tcp, default 0.85
 *   --cpu-breakdown  CPU seconds per GiB by thread group for each rep (as ThroughputBench)
 * </pre>
 */
public final class TlsBench {
    private TlsBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        boolean quick = args.flag("quick");
        long bytes = args.sizeValue("bytes", quick ? 128L << 20 : 1L << 30);
        int reps = args.intValue("reps", quick ? 2 : 7);
        int warmup = args.intValue("warmup", quick ? 1 : 3);
        int maxWarmup = Math.max(warmup, args.intValue("max-warmup", quick ? 1 : 12));
        int joins = args.intValue("joins", quick ? 20 : 200);
        double target = Double.parseDouble(args.value("target", "0.85"));
        ThroughputBench.cpuBreakdown = args.flag("cpu-breakdown");
        Path pki = Files.createTempDirectory("invmux-bench-pki");
        try {
            CertificateAuthority ca = CertificateAuthority.create("bench CA");
            Path caFile = pki.resolve("ca.crt");
            ca.writeCertificate(caFile);
            Config base = BenchSupport.configFrom(args);
            Config server = base.toBuilder().tls(settings(ca, pki, "server", caFile)).build();
            Config client = base.toBuilder().tls(settings(ca, pki, "client", caFile)).build();
            log("== tls: 1 stream over 1 tls:// link vs 1 tcp:// link, " + (bytes >> 20) + " MiB per rep, " + warmup
                    + "-" + maxWarmup + " warm-up + " + reps + " reps each, interleaved; provider "
                    + (io.netty.handler.ssl.OpenSsl.isAvailable() ? "BoringSSL " + io.netty.handler.ssl.OpenSsl
                    .versionString() : "JDK"));
            byte[] payload = new byte[64 << 10];
            new Random(42).nextBytes(payload);
            List<Double> tcp = new ArrayList<>();
            List<Double> tls = new ArrayList<>();
            List<Double> tcpCpu = new ArrayList<>();
            List<Double> tlsCpu = new ArrayList<>();
            try (SessionPair plain = SessionPair.open(base, base, 1, "tcp");
                    SessionPair secure = SessionPair.open(client, server, 1, "tls")) {
                // As in ThroughputBench: warm up until the JIT threads use < 5% of either side's CPU (the TLS path
                // has more code to compile), at least --warmup and at most --max-warmup reps of each side.
                int warmed = 0;
                while (true) {
                    double[] x = pairRep(plain, secure, "warm-up", bytes, payload);
                    warmed++;
                    boolean jitBusy = x[4] >= 0.05 || x[5] >= 0.05;
                    if (warmed >= maxWarmup || (warmed >= warmup && !jitBusy)) {
                        break;
                    }
                }
                log("  warm-up done after " + warmed + " rep(s) of each side");
                for (int rep = 1; rep <= reps; rep++) {
                    double[] x = pairRep(plain, secure, "rep " + rep, bytes, payload);
                    tcp.add(x[0]);
                    tls.add(x[1]);
                    tcpCpu.add(x[2]);
                    tlsCpu.add(x[3]);
                }
                double ratio = BenchSupport.median(tls) / BenchSupport.median(tcp);
                log("  ratio of medians " + fmt(ratio, 3) + " (median of paired ratios "
                        + fmt(BenchSupport.pairedRatio(tcp, tls), 3) + "), target >= " + fmt(target, 2) + ": "
                        + BenchSupport.verdict(ratio >= target));
                double cpuRatio = BenchSupport.median(tlsCpu) / BenchSupport.median(tcpCpu);
                log("  process CPU per GiB moved: tcp " + fmt(BenchSupport.median(tcpCpu), 2) + " s, tls "
                        + fmt(BenchSupport.median(tlsCpu), 2) + " s (x" + fmt(cpuRatio, 2) + ")");
                long[] tcpJoin = joinTimes(plain, "tcp", joins);
                long[] tlsJoin = joinTimes(secure, "tls", joins);
                log("  join one more link (connect + handshake + HELLOs), " + joins + " each: tcp median "
                        + micros(tcpJoin, 50) + " ms p99 " + micros(tcpJoin, 99) + " ms; tls median "
                        + micros(tlsJoin, 50) + " ms p99 " + micros(tlsJoin, 99) + " ms");
                BenchSupport.summary("tls", "tcp_mbps", fmt(BenchSupport.median(tcp), 0), "tls_mbps",
                        fmt(BenchSupport.median(tls), 0), "ratio", fmt(ratio, 3), "paired_ratio",
                        fmt(BenchSupport.pairedRatio(tcp, tls), 3), "target", fmt(target, 2), "met",
                        Boolean.toString(ratio >= target), "tcp_cpu_s_per_gib", fmt(BenchSupport.median(tcpCpu), 2),
                        "tls_cpu_s_per_gib", fmt(BenchSupport.median(tlsCpu), 2), "tcp_join_median_ms", micros(tcpJoin, 50),
                        "tcp_join_p99_ms", micros(tcpJoin, 99), "tls_join_median_ms", micros(tlsJoin, 50),
                        "tls_join_p99_ms", micros(tlsJoin, 99), "warmup_reps", Integer.toString(warmed));
            }
        } finally {
            try (var files = Files.list(pki)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(pki);
        }
    }

    /**
     * One tcp rep then one tls rep; returns {tcp Mbit/s, tls Mbit/s, tcp CPU s/GiB, tls CPU s/GiB, tcp JIT share,
     * tls JIT share}.
     */
    private static double[] pairRep(SessionPair plain, SessionPair secure, String label, long bytes, byte[] payload)
            throws Exception {
        double t = ThroughputBench.muxRep(plain, 1, bytes, payload);
        double tc = ThroughputBench.lastCpuPerGib;
        double tj = ThroughputBench.lastJitShare;
        double s = ThroughputBench.muxRep(secure, 1, bytes, payload);
        double sc = ThroughputBench.lastCpuPerGib;
        double sj = ThroughputBench.lastJitShare;
        log(String.format("  %-8s tcp %7s Mbit/s  tls %7s Mbit/s  ratio %s   cpu s/GiB tcp %s tls %s  (JIT %s%% / %s%%"
                + " of CPU)", label, fmt(t, 0), fmt(s, 0), fmt(s / t, 3), fmt(tc, 2), fmt(sc, 2), fmt(100 * tj, 0),
                fmt(100 * sj, 0)));
        return new double[] {t, s, tc, sc, tj, sj};
    }

    private static TlsSettings settings(CertificateAuthority ca, Path dir, String name, Path caFile)
            throws Exception {
        Path cert = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        ca.issue(name, "127.0.0.1").write(cert, key);
        return TlsSettings.of(cert, key, caFile);
    }

    /**
     * Adds {@code n} links one at a time to the pair's session and removes each once joined; returns the sorted
     * nanoseconds from dialing to joined.
     */
    private static long[] joinTimes(SessionPair sp, String scheme, int n) throws Exception {
        int port = ((InetSocketAddress) sp.listener.localAddresses().get(0)).getPort();
        URI uri = URI.create(scheme + "://127.0.0.1:" + port);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            Connection c = sp.client.addConnection(uri).get(10, TimeUnit.SECONDS);
            out[i] = System.nanoTime() - start;
            sp.client.removeConnection(c.id()).get(10, TimeUnit.SECONDS);
        }
        Arrays.sort(out);
        return out;
    }

    private static String micros(long[] sorted, double p) {
        return fmt(BenchSupport.percentile(sorted, p) / 1e6, 2);
    }
}
