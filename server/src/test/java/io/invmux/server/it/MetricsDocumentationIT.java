package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.fault.FaultProxy;
import io.invmux.server.it.PrometheusText.Sample;
import io.invmux.tls.CertificateAuthority;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/METRICS.md is the list of every series, checked against live sidecars so it cannot drift: a TLS pair with
 * compression, one link through a proxy that the test cuts while data flows (a failover), a forward carrying traffic
 * (streams that end, garbage collections) and a forward to a service nobody accepts (an accept timeout, a refusal).
 * Every series scraped must be listed with exactly its labels, and every series listed must appear.
 */
@Timeout(180)
class MetricsDocumentationIT {
    /** A table row of docs/METRICS.md: | `name` | type | unit | labels | meaning |. */
    private static final Pattern ROW = Pattern.compile("^\\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \\| (\\w+) \\| [^|]* \\| "
            + "([^|]*) \\|.*$", Pattern.MULTILINE);
    private static final Pattern LABEL = Pattern.compile("`([a-zA-Z_][a-zA-Z0-9_]*)`");
    private static final Pattern TYPE = Pattern.compile("^# TYPE (\\S+) (\\S+)$", Pattern.MULTILINE);

    @TempDir
    Path dir;

    /** A documented series: its type and label names. */
    record Documented(String type, Set<String> labels) {
    }

    /** The series docs/METRICS.md lists, by name. */
    static Map<String, Documented> documented() throws IOException {
        String doc = Files.readString(Path.of("../docs/METRICS.md"));
        Map<String, Documented> out = new TreeMap<>();
        Matcher m = ROW.matcher(doc);
        while (m.find()) {
            Set<String> labels = new TreeSet<>();
            Matcher l = LABEL.matcher(m.group(3));
            while (l.find()) {
                labels.add(l.group(1));
            }
            assertThat(out.put(m.group(1), new Documented(m.group(2), labels))).as("%s listed twice", m.group(1))
                    .isNull();
        }
        return out;
    }

    @Test
    void everySeriesTheSidecarsServeIsDocumentedAndEveryDocumentedSeriesIsServed() throws Exception {
        Map<String, Documented> doc = documented();
        assertThat(doc).as("docs/METRICS.md rows").hasSizeGreaterThan(50);

        CertificateAuthority ca = CertificateAuthority.create("metrics CA");
        Path caFile = dir.resolve("ca.crt");
        ca.writeCertificate(caFile);
        for (String name : List.of("pod-a", "pod-b")) {
            ca.issue(name).write(dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
        }
        int bPort = SidecarProcess.freePort();
        int adminA = SidecarProcess.freePort();
        int adminB = SidecarProcess.freePort();
        int forward = SidecarProcess.freePort();
        int nobody = SidecarProcess.freePort();
        try (EchoServer echo = EchoServer.start();
                FaultProxy path2 = FaultProxy.start(new InetSocketAddress("127.0.0.1", bPort))) {
            List<String> tls = List.of("middleware.0=zstd", "security.tls.caFile=" + caFile);
            List<String> b = new ArrayList<>(tls);
            b.addAll(List.of("admin.address=127.0.0.1:" + adminB, "listeners.0=tls://0.0.0.0:" + bPort,
                    "security.tls.certFile=" + dir.resolve("pod-b.crt"),
                    "security.tls.keyFile=" + dir.resolve("pod-b.key"), "limits.acceptTimeout=200ms",
                    "services.0.name=echo", "services.0.target=127.0.0.1:" + echo.port()));
            List<String> a = new ArrayList<>(tls);
            a.addAll(List.of("admin.address=127.0.0.1:" + adminA, "listeners=[]", "peers.0.name=pod-b",
                    "peers.0.links.0.address=tls://127.0.0.1:" + bPort,
                    "peers.0.links.1.address=tls://127.0.0.1:" + path2.port(),
                    "peers.0.links.1.maxBytesPerDay=1024GiB",
                    "security.tls.certFile=" + dir.resolve("pod-a.crt"),
                    "security.tls.keyFile=" + dir.resolve("pod-a.key"),
                    "forwards.0.listen=127.0.0.1:" + forward, "forwards.0.peer=pod-b", "forwards.0.service=echo",
                    "forwards.1.listen=127.0.0.1:" + nobody, "forwards.1.peer=pod-b", "forwards.1.service=nobody"));
            try (SidecarProcess podB = SidecarProcess.start("pod-b", b, List.of());
                    SidecarProcess podA = SidecarProcess.start("pod-a", a, List.of())) {
                await().atMost(Duration.ofSeconds(30)).until(() -> value(PrometheusText.scrape(adminA),
                        "invmux_session_links") == 2);
                // A stream nobody accepts: pod-b resets it at limits.acceptTimeout (a refusal, an expired wait).
                try (Socket s = new Socket("127.0.0.1", nobody)) {
                    s.getOutputStream().write(1);
                    s.setSoTimeout(30_000);
                    assertThat(endOf(s.getInputStream())).as("the forward's connection ends").isEqualTo(-1);
                }
                AtomicBoolean stop = new AtomicBoolean();
                CompletableFuture<Long> traffic = CompletableFuture.supplyAsync(() -> pump(forward, stop));
                try {
                    // Cut the second path while data flows until a failover completes and a GC has run.
                    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
                        List<Sample> now = PrometheusText.scrape(adminA);
                        boolean failedOver = now.stream().anyMatch(x -> x.name().equals(
                                "invmux_failover_gap_seconds_count"));
                        if (!failedOver && value(now, "invmux_session_links") == 2) {
                            path2.reset();
                        }
                        return failedOver && now.stream().anyMatch(x -> x.name().equals(
                                "jvm_memory_pool_allocated_bytes_total"));
                    });
                } finally {
                    stop.set(true);
                }
                assertThat(traffic.get()).as("bytes echoed").isPositive();
                await().atMost(Duration.ofSeconds(30)).until(() -> PrometheusText.scrape(adminB).stream()
                        .anyMatch(x -> x.name().equals("invmux_stream_duration_seconds_count")));

                Map<String, String> types = new TreeMap<>();
                Map<String, Set<String>> labels = new TreeMap<>();
                for (int admin : new int[] {adminA, adminB}) {
                    String body = PrometheusText.body(admin);
                    Matcher t = TYPE.matcher(body);
                    while (t.find()) {
                        types.put(t.group(1), t.group(2));
                    }
                    for (Sample x : PrometheusText.parse(body)) {
                        Set<String> keys = new TreeSet<>(x.labels().keySet());
                        keys.remove("le");
                        keys.remove("quantile");
                        labels.computeIfAbsent(family(x.name(), types), k -> new TreeSet<>()).addAll(keys);
                    }
                }
                assertThat(types.keySet()).as("series served but not in docs/METRICS.md")
                        .isSubsetOf(doc.keySet());
                assertThat(doc.keySet()).as("series in docs/METRICS.md that never appeared")
                        .isSubsetOf(types.keySet());
                for (Map.Entry<String, String> e : types.entrySet()) {
                    assertThat(doc.get(e.getKey()).type()).as("type of %s", e.getKey()).isEqualTo(e.getValue());
                    assertThat(labels.get(e.getKey())).as("labels of %s", e.getKey())
                            .isEqualTo(doc.get(e.getKey()).labels());
                }
                assertThat(labels.values()).as("no series is labelled by session")
                        .allSatisfy(l -> assertThat(l).doesNotContain("session"));
            }
        }
    }

    /** The family a sample belongs to: itself, or a histogram's or summary's name without its suffix. */
    private static String family(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) {
            return sample;
        }
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            if (sample.endsWith(suffix)) {
                String base = sample.substring(0, sample.length() - suffix.length());
                if (types.containsKey(base)) {
                    return base;
                }
            }
        }
        throw new AssertionError("sample " + sample + " has no # TYPE line");
    }

    /** -1 when the stream ends, whether with FIN or (the forward resets what its stream lost) RST. */
    private static int endOf(InputStream in) throws IOException {
        try {
            return in.read();
        } catch (java.net.SocketException e) {
            return -1;
        }
    }

    private static double value(List<Sample> samples, String name) {
        return samples.stream().filter(s -> s.name().equals(name)).mapToDouble(Sample::value).sum();
    }

    /** Writes through the forward and reads the echo until {@code stop}; returns the bytes echoed. */
    private static long pump(int port, AtomicBoolean stop) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> {
                long n = 0;
                byte[] buf = new byte[64 * 1024];
                try {
                    int r;
                    while ((r = in.read(buf)) > 0) {
                        n += r;
                    }
                } catch (IOException e) {
                    // counted what came
                }
                return n;
            });
            byte[] block = new byte[256 * 1024];
            new java.util.Random(7).nextBytes(block); // incompressible: the links carry it all
            while (!stop.get()) {
                out.write(block);
            }
            s.shutdownOutput();
            return reader.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
