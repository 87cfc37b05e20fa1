package io.invmux.bench;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.SessionStats;
import io.invmux.Stream;
import io.invmux.fault.FaultProxy;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The failover gap: a steady transfer over three loopback links, each through a fault proxy; after two seconds one
 * link is cut (reset: the peers see RST) or black-holed (it silently stops carrying anything, no RST). A sampler
 * records delivered bytes every 10 ms; the longest stretch with nothing delivered after the fault is the gap.
 * Every byte is checked (count and sha256) so lost and duplicated bytes are measured, not assumed.
 *
 * <p>Prints {@code failover: case=<reset|blackhole> gap_ms=<n> lost_bytes=<n> duplicated_bytes=<n>
 * resent_bytes=<n>} per case, plus the baseline gap (the longest stall over the same window with no fault), which
 * is what this machine's scheduling noise alone produces.
 */
public final class FailoverBench {
    private static final long SAMPLE_MS = 10;

    private FailoverBench() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        List<String> summary = new ArrayList<>();
        for (String c : new String[] {"none", "reset", "blackhole"}) {
            summary.add(run(c, seconds));
        }
        System.out.println();
        summary.forEach(System.out::println);
    }

    private static String run(String fault, int seconds) throws Exception {
        Config config = Config.defaults();
        ExecutorService pool = Executors.newCachedThreadPool();
        List<FaultProxy> proxies = new ArrayList<>();
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
            for (int i = 0; i < 3; i++) {
                proxies.add(FaultProxy.start(new InetSocketAddress("127.0.0.1", port)));
            }
            Session client = InvMux.connect(config, proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
            Session server = listener.accept(Duration.ofSeconds(10));
            Stream out = client.openStream();
            out.outputStream().write(new byte[0]);
            AtomicLong delivered = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong sent = new AtomicLong();
            MessageDigest sentMd = MessageDigest.getInstance("SHA-256");
            Future<?> writer = pool.submit(() -> {
                SplittableRandom random = new SplittableRandom(7);
                byte[] block = new byte[64 * 1024];
                try (OutputStream os = out.outputStream()) {
                    while (!stop.get()) {
                        random.nextBytes(block);
                        sentMd.update(block);
                        os.write(block);
                        sent.addAndGet(block.length);
                    }
                }
                return null;
            });
            Stream in = server.acceptStream(Duration.ofSeconds(10));
            MessageDigest gotMd = MessageDigest.getInstance("SHA-256");
            Future<?> reader = pool.submit(() -> {
                byte[] buf = new byte[64 * 1024];
                try (InputStream is = in.inputStream()) {
                    int n;
                    while ((n = is.read(buf)) >= 0) {
                        gotMd.update(buf, 0, n);
                        delivered.addAndGet(n);
                    }
                }
                return null;
            });
            Thread.sleep(2000);
            long faultAt = System.nanoTime();
            if (fault.equals("reset")) {
                proxies.get(1).reset();
            } else if (fault.equals("blackhole")) {
                proxies.get(1).refuse(true);
                proxies.get(1).blackhole();
            }
            long maxGapMs = 0;
            long last = delivered.get();
            long lastChange = System.nanoTime();
            long end = faultAt + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                Thread.sleep(SAMPLE_MS);
                long now = delivered.get();
                long t = System.nanoTime();
                if (now != last) {
                    last = now;
                    lastChange = t;
                }
                maxGapMs = Math.max(maxGapMs, (t - lastChange) / 1_000_000);
            }
            stop.set(true);
            writer.get(30, TimeUnit.SECONDS);
            reader.get(60, TimeUnit.SECONDS);
            SessionStats stats = client.stats();
            long lost = Math.max(0, sent.get() - delivered.get());
            long duplicated = Math.max(0, delivered.get() - sent.get());
            boolean intact = HexFormat.of().formatHex(sentMd.digest()).equals(HexFormat.of().formatHex(gotMd.digest()));
            System.out.printf(Locale.ROOT, "%s: %d MiB moved, sha256 %s, resent %d chunks%n", fault,
                    sent.get() >> 20, intact ? "equal" : "DIFFERENT", stats.chunksResent());
            client.close();
            return String.format(Locale.ROOT, "failover: case=%s gap_ms=%d lost_bytes=%d duplicated_bytes=%d "
                    + "resent_bytes=%d intact=%b", fault, maxGapMs, lost, duplicated, stats.bytesResent(), intact);
        } finally {
            proxies.forEach(FaultProxy::close);
            pool.shutdownNow();
        }
    }
}
