package io.invmux.demo;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.SessionStats;
import io.invmux.Stream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Two sessions in one process joined by several loopback TCP links: streams push bytes one way for a few
 * seconds while a table of the links (bytes, chunks, RTT) is printed every second.
 *
 * <p>Arguments: {@code --links N} (default 3), {@code --streams N} (default 4), {@code --seconds N} (default 5).
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) throws Exception {
        int links = intArg(args, "--links", 3);
        int streams = intArg(args, "--streams", 4);
        int seconds = intArg(args, "--seconds", 5);
        Config config = Config.defaults();
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "demo");
            t.setDaemon(true);
            return t;
        });
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
            URI[] uris = new URI[links];
            for (int i = 0; i < links; i++) {
                uris[i] = URI.create("tcp://127.0.0.1:" + port);
            }
            Session client = InvMux.connect(config, uris);
            Session server = listener.accept(Duration.ofSeconds(10));
            System.out.printf("session %s: %d links, %d streams, %d s%n", client.id(), links, streams, seconds);

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong delivered = new AtomicLong();
            List<Future<?>> tasks = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                Stream out = client.openStream(("demo-" + i).getBytes());
                tasks.add(pool.submit(() -> {
                    byte[] block = new byte[64 * 1024];
                    try (OutputStream os = out.outputStream()) {
                        while (running.get()) {
                            os.write(block);
                        }
                    }
                    return null;
                }));
                Stream in = server.acceptStream(Duration.ofSeconds(10));
                tasks.add(pool.submit(() -> {
                    byte[] buf = new byte[64 * 1024];
                    try (InputStream is = in.inputStream()) {
                        int n;
                        while ((n = is.read(buf)) >= 0) {
                            delivered.addAndGet(n);
                        }
                    }
                    return null;
                }));
            }

            long start = System.nanoTime();
            long last = 0;
            for (int s = 1; s <= seconds; s++) {
                Thread.sleep(1000);
                long now = delivered.get();
                printTable(s, (now - last) * 8 / 1e6, client.stats());
                last = now;
            }
            running.set(false);
            for (Future<?> f : tasks) {
                f.get(30, TimeUnit.SECONDS);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            SessionStats stats = client.stats();
            System.out.printf(Locale.ROOT, "done: %.1f MiB delivered in %.1f s = %.0f Mbit/s over %d links, "
                    + "%d chunks, %d re-sent%n", delivered.get() / 1048576.0, secs, delivered.get() * 8 / secs / 1e6,
                    stats.links().size(), stats.chunksSent(), stats.chunksResent());
            client.close();
        } finally {
            pool.shutdownNow();
        }
    }

    private static void printTable(int second, double mbps, SessionStats stats) {
        System.out.printf(Locale.ROOT, "t=%2ds  bundle %8.0f Mbit/s%n", second, mbps);
        System.out.printf("   %-4s %-22s %12s %10s %10s %7s%n", "link", "remote", "MiB sent", "chunks", "rtt(us)",
                "score");
        for (SessionStats.LinkStats l : stats.links()) {
            System.out.printf(Locale.ROOT, "   %-4s %-22s %12.1f %10d %10d %7.2f%n", l.id(), l.remoteAddress(),
                    l.bytesSent() / 1048576.0, l.chunksSent(), l.quality().latency().toNanos() / 1000,
                    l.quality().score());
        }
    }

    private static int intArg(String[] args, String name, int defaultValue) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                try {
                    int v = Integer.parseInt(args[i + 1]);
                    if (v < 1 || v > 1000) {
                        throw new NumberFormatException();
                    }
                    return v;
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + " must be a whole number from 1 to 1000, got '"
                            + args[i + 1] + "'");
                }
            }
        }
        return defaultValue;
    }
}
