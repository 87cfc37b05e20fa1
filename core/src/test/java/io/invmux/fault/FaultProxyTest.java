package io.invmux.fault;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * FaultProxy over real loopback sockets, with plain java.net servers behind it. Only lower bounds on durations
 * are asserted; everything "eventually" goes through Awaitility with a generous limit.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FaultProxyTest {
    private static final Duration EVENTUALLY = Duration.ofSeconds(20);

    @Test
    void corruptOneByteFlipsExactlyOneBitOfTheNextBytesForwarded() throws Exception {
        byte[] data = new byte[4096];
        new Random(7).nextBytes(data);
        try (TestServer echo = TestServer.echo();
             FaultProxy proxy = FaultProxy.start(echo.address())) {
            proxy.corruptOneByte();
            try (Socket s = connect(proxy.address())) {
                write(s, data);
                byte[] back = s.getInputStream().readNBytes(data.length);
                int differing = 0;
                for (int i = 0; i < data.length; i++) {
                    differing += Integer.bitCount((data[i] ^ back[i]) & 0xff);
                }
                assertThat(differing).as("bits changed on the round trip").isEqualTo(1);
            }
        }
    }

    @Test
    void forwardsTenMebibytesBothWaysIntact() throws Exception {
        byte[] data = new byte[10 * 1024 * 1024];
        new Random(42).nextBytes(data);
        try (TestServer echo = TestServer.echo();
             FaultProxy proxy = FaultProxy.start(echo.address())) {
            assertThat(proxy.uri().toString()).isEqualTo("tcp://127.0.0.1:" + proxy.port());
            try (Socket s = connect(proxy.address())) {
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    for (int off = 0; off < data.length; off += 64 * 1024) {
                        write(s, Arrays.copyOfRange(data, off, Math.min(off + 64 * 1024, data.length)));
                    }
                });
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                InputStream in = s.getInputStream();
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                while (total < data.length) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, data.length - total));
                    assertThat(n).as("EOF after %d bytes", total).isPositive();
                    sha.update(buf, 0, n);
                    total += n;
                }
                writer.get(30, TimeUnit.SECONDS);
                assertThat(sha.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
            }
            await().atMost(EVENTUALLY).until(() -> proxy.bytesForwarded() == 2L * data.length);
            assertThat(proxy.bytesDropped()).isZero();
            assertThat(proxy.connectionsAccepted()).isEqualTo(1);
            // The client's close travels through: the server sees EOF and the proxy drops the pair.
            await().atMost(EVENTUALLY).until(() -> echo.peer().ended());
            await().atMost(EVENTUALLY).until(() -> proxy.activeConnections() == 0);
        }
    }

    @Test
    void delayAddsAtLeastTheDelayEachWayAndKeepsOrder() throws Exception {
        Duration delay = Duration.ofMillis(200);
        try (TestServer echo = TestServer.echo();
             FaultProxy proxy = FaultProxy.start(echo.address());
             Socket s = connect(proxy.address())) {
            roundTrip(s, "warm-up"); // the connection exists before the command: it must apply to it too
            proxy.delay(delay);

            long start = System.nanoTime();
            roundTrip(s, "ping");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(delay.multipliedBy(2));

            // Many small writes while delayed come back complete and in order.
            ByteArrayOutputStream sent = new ByteArrayOutputStream();
            for (int i = 0; i < 200; i++) {
                byte[] msg = String.format("<%05d>", i).getBytes(US_ASCII);
                s.getOutputStream().write(msg);
                sent.write(msg);
            }
            assertThat(s.getInputStream().readNBytes(sent.size())).isEqualTo(sent.toByteArray());

            proxy.heal();
            roundTrip(s, "healed");
            assertThat(proxy.bytesDropped()).isZero();
        }
    }

    @Test
    void throttleLimitsEachDirection() throws Exception {
        long rate = 128 * 1024;
        int n = 256 * 1024; // about two seconds at that rate
        byte[] payload = new byte[n];
        new Random(7).nextBytes(payload);
        try (TestServer sink = TestServer.sink();
             FaultProxy proxy = FaultProxy.start(sink.address());
             Socket s = connect(proxy.address())) {
            roundTrip(s, sink, "hello");
            Peer peer = sink.peer();
            proxy.throttle(rate);

            long start = System.nanoTime();
            CompletableFuture<Void> up = CompletableFuture.runAsync(() -> write(s, payload));
            CompletableFuture<Void> down = CompletableFuture.runAsync(() -> peer.send(payload));
            assertThat(s.getInputStream().readNBytes(n)).isEqualTo(payload);
            long downNanos = System.nanoTime() - start;
            await().atMost(EVENTUALLY).until(() -> peer.received() == 5 + n);
            long upNanos = System.nanoTime() - start;
            up.get(10, TimeUnit.SECONDS);
            down.get(10, TimeUnit.SECONDS);

            long minNanos = (long) (0.7 * n * 1e9 / rate);
            assertThat(upNanos).isGreaterThanOrEqualTo(minNanos);
            assertThat(downNanos).isGreaterThanOrEqualTo(minNanos);

            proxy.throttle(0);
            roundTrip(s, sink, "free");
        }
    }

    @Test
    void blackholeHoldsBytesBothWaysWithoutClosingAndHealDeliversThemInOrder() throws Exception {
        try (TestServer sink = TestServer.sink();
             FaultProxy proxy = FaultProxy.start(sink.address());
             Socket s = connect(proxy.address())) {
            write(s, "hello".getBytes(US_ASCII));
            Peer peer = sink.peer();
            await().atMost(EVENTUALLY).until(() -> peer.text().equals("hello"));

            proxy.blackhole();
            assertThat(proxy.blackholed()).isTrue();
            write(s, "lost?".getBytes(US_ASCII));
            peer.send("back?".getBytes(US_ASCII));
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> peer.received() == 5);
            s.setSoTimeout(500);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            assertThat(peer.ended()).isFalse();
            assertThat(proxy.activeConnections()).isEqualTo(1);

            proxy.heal();
            s.setSoTimeout(10_000);
            await().atMost(EVENTUALLY).until(() -> peer.text().equals("hellolost?"));
            assertThat(s.getInputStream().readNBytes(5)).isEqualTo("back?".getBytes(US_ASCII));
            assertThat(proxy.bytesDropped()).isZero();
        }
    }

    @Test
    void dropEatsBytesBothWaysButKeepsTheConnectionAndHealRestoresIt() throws Exception {
        try (TestServer sink = TestServer.sink();
             FaultProxy proxy = FaultProxy.start(sink.address());
             Socket s = connect(proxy.address())) {
            write(s, "hello".getBytes(US_ASCII));
            Peer peer = sink.peer();
            await().atMost(EVENTUALLY).until(() -> peer.text().equals("hello"));
            peer.send("hi".getBytes(US_ASCII));
            assertThat(s.getInputStream().readNBytes(2)).isEqualTo("hi".getBytes(US_ASCII));

            proxy.drop();
            write(s, filled(1000, 'x'));
            peer.send(filled(500, 'y'));
            await().atMost(EVENTUALLY).until(() -> proxy.bytesDropped() == 1500);
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> peer.received() == 5);
            s.setSoTimeout(500);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            assertThat(peer.ended()).isFalse();
            assertThat(proxy.activeConnections()).isEqualTo(1);

            proxy.heal();
            s.setSoTimeout(10_000);
            write(s, "world".getBytes(US_ASCII));
            await().atMost(EVENTUALLY).until(() -> peer.text().equals("helloworld"));
            peer.send("back".getBytes(US_ASCII));
            assertThat(s.getInputStream().readNBytes(4)).isEqualTo("back".getBytes(US_ASCII));
            assertThat(proxy.bytesDropped()).isEqualTo(1500);
        }
    }

    @Test
    void resetEndsBothSidesAndNewConnectionsStillWork() throws Exception {
        try (TestServer echo = TestServer.echo();
             FaultProxy proxy = FaultProxy.start(echo.address());
             Socket s = connect(proxy.address())) {
            roundTrip(s, "before");
            Peer peer = echo.peer();

            proxy.reset();
            assertEnds(s);
            await().atMost(EVENTUALLY).until(peer::ended);
            await().atMost(EVENTUALLY).until(() -> proxy.activeConnections() == 0);

            try (Socket again = connect(proxy.address())) {
                roundTrip(again, "after");
            }
            assertThat(proxy.connectionsAccepted()).isEqualTo(2);
        }
    }

    @Test
    void refuseClosesNewConnectionsAtOnce() throws Exception {
        try (TestServer echo = TestServer.echo();
             FaultProxy proxy = FaultProxy.start(echo.address())) {
            proxy.refuse(true);
            try (Socket s = connect(proxy.address())) {
                assertEnds(s);
            } catch (SocketException e) {
                // Also fine: the reset can beat connect() back to the caller ("Connection reset by peer").
                assertThat(e).isNotInstanceOf(ConnectException.class); // but the port must have accepted
            }
            assertThat(proxy.connectionsAccepted()).isEqualTo(1);
            assertThat(echo.peerCount()).isZero(); // the target was never dialed

            proxy.refuse(false);
            try (Socket s = connect(proxy.address())) {
                roundTrip(s, "open again");
            }
        }
    }

    @Test
    void flapAlternatesBetweenBlackholedAndHealthyAndLosesNothing() throws Exception {
        try (TestServer sink = TestServer.sink();
             FaultProxy proxy = FaultProxy.start(sink.address());
             Socket s = connect(proxy.address())) {
            write(s, "x".getBytes(US_ASCII));
            Peer peer = sink.peer();
            await().atMost(EVENTUALLY).until(() -> peer.received() == 1);

            proxy.flap(Duration.ofMillis(100)); // starts black-holed
            assertThat(proxy.blackholed()).isTrue();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong sent = new AtomicLong(1);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                byte[] chunk = filled(100, 'f');
                while (!stop.get()) {
                    write(s, chunk);
                    sent.addAndGet(chunk.length);
                    sleep(5);
                }
            });
            try {
                await().atMost(EVENTUALLY).pollInterval(Duration.ofMillis(5)).until(() -> !proxy.blackholed());
                await().atMost(EVENTUALLY).pollInterval(Duration.ofMillis(5)).until(proxy::blackholed);
                await().atMost(EVENTUALLY).pollInterval(Duration.ofMillis(5)).until(() -> !proxy.blackholed());
                await().atMost(EVENTUALLY).until(() -> peer.received() > 1); // healthy phases forward
            } finally {
                stop.set(true);
                writer.get(10, TimeUnit.SECONDS);
            }
            proxy.heal();
            assertThat(proxy.blackholed()).isFalse();
            // Nothing was lost: every byte written during the flapping arrives once healed.
            await().atMost(EVENTUALLY).until(() -> peer.received() == sent.get());
            assertThat(proxy.bytesDropped()).isZero();
            assertThat(peer.ended()).isFalse();
        }
    }

    @Test
    void slowReceiverPushesBackInsteadOfBeingBuffered() throws Exception {
        long total = 128L * 1024 * 1024; // far more than the socket buffers on the path can hold
        try (TestServer sink = TestServer.pausedSink();
             FaultProxy proxy = FaultProxy.start(sink.address());
             Socket s = connect(proxy.address())) {
            s.setSendBufferSize(64 * 1024);
            AtomicLong written = new AtomicLong();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                byte[] chunk = new byte[64 * 1024];
                try {
                    OutputStream out = s.getOutputStream();
                    while (written.get() < total) {
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            // Wait until the writer is stuck: no progress between two polls.
            long[] last = {-1};
            await().atMost(EVENTUALLY).pollInterval(Duration.ofMillis(300)).until(() -> {
                long now = written.get();
                boolean stuck = now == last[0];
                last[0] = now;
                return stuck;
            });
            assertThat(written.get()).isLessThan(total);
            assertThat(writer).isNotDone();

            sink.peer().resume();
            writer.get(EVENTUALLY.toSeconds(), TimeUnit.SECONDS);
            await().atMost(EVENTUALLY).until(() -> sink.peer().received() == total);
        }
    }

    @Test
    void closeStopsEverythingAndTheSamePortCanBeReused() throws Exception {
        try (TestServer echo = TestServer.echo()) {
            FaultProxy proxy = FaultProxy.start(echo.address());
            int port = proxy.port();
            try (Socket s = connect(proxy.address())) {
                roundTrip(s, "hi");
                proxy.delay(Duration.ofMillis(100)).throttle(10_000).flap(Duration.ofMillis(50));
                write(s, "queued".getBytes(US_ASCII)); // may be held in the proxy when it closes: must be freed
                proxy.close();
                assertEnds(s);
            }
            assertThat(proxy.activeConnections()).isZero();
            assertThatThrownBy(() -> connect(proxy.address())).isInstanceOf(IOException.class);

            try (FaultProxy again = FaultProxy.start(echo.address(), port);
                 Socket s = connect(again.address())) {
                assertThat(again.port()).isEqualTo(port);
                roundTrip(s, "back on the same port");
            }
        }
    }

    /**
     * Paranoid leak detection reports a leaked buffer only when a later allocation finds it collected; provoke
     * that here so a leak by the proxy shows up in this class's output rather than in some later test's.
     */
    @AfterAll
    static void flushLeakReports() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(1);
            probe.release();
        }
    }

    // ---- helpers

    private static Socket connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        // Options first: a refused connection may already be reset by the time connect() returns.
        s.setSoTimeout(10_000); // no read can hang a test
        s.setTcpNoDelay(true);
        s.connect(address, 5_000);
        return s;
    }

    /** Writes {@code text} to an echo server through {@code s} and reads it back. */
    private static void roundTrip(Socket s, String text) throws IOException {
        byte[] bytes = text.getBytes(US_ASCII);
        s.getOutputStream().write(bytes);
        assertThat(s.getInputStream().readNBytes(bytes.length)).isEqualTo(bytes);
    }

    /** A round trip through a sink server: up to the peer, then the peer sends it back. */
    private static void roundTrip(Socket s, TestServer sink, String text) throws IOException {
        byte[] bytes = text.getBytes(US_ASCII);
        long before = sink.peerCount() == 0 ? 0 : sink.peer().received();
        s.getOutputStream().write(bytes);
        Peer peer = sink.peer();
        await().atMost(EVENTUALLY).until(() -> peer.received() == before + bytes.length);
        peer.send(bytes);
        assertThat(s.getInputStream().readNBytes(bytes.length)).isEqualTo(bytes);
    }

    /** The connection must end (EOF or an error such as a reset), not just stay silent. */
    private static void assertEnds(Socket s) {
        try {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        } catch (SocketTimeoutException e) {
            fail("connection still open after 10 s (the read timeout set by connect())");
        } catch (IOException expected) {
            // reset by peer
        }
    }

    private static void write(Socket s, byte[] bytes) {
        try {
            s.getOutputStream().write(bytes);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A blocking java.net server: echoes, or collects what it receives. One daemon thread per connection. */
    private static final class TestServer implements AutoCloseable {
        private final ServerSocket socket;
        private final boolean echo;
        private final boolean paused;
        private final List<Peer> peers = new CopyOnWriteArrayList<>();
        private final BlockingQueue<Peer> firstPeer = new LinkedBlockingQueue<>();

        private TestServer(boolean echo, boolean paused) throws IOException {
            this.echo = echo;
            this.paused = paused;
            socket = new ServerSocket();
            if (paused) {
                socket.setReceiveBufferSize(64 * 1024); // a small, fixed window so back-pressure shows quickly
            }
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread acceptor = new Thread(this::acceptLoop, "test-server-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        static TestServer echo() throws IOException {
            return new TestServer(true, false);
        }

        static TestServer sink() throws IOException {
            return new TestServer(false, false);
        }

        /** A sink whose connections read nothing until {@link Peer#resume()}. */
        static TestServer pausedSink() throws IOException {
            return new TestServer(false, true);
        }

        InetSocketAddress address() {
            return (InetSocketAddress) socket.getLocalSocketAddress();
        }

        int peerCount() {
            return peers.size();
        }

        /** The first connection accepted (waits for it). */
        Peer peer() {
            try {
                Peer p = firstPeer.poll(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS);
                if (p == null) {
                    throw new AssertionError("no connection reached the server");
                }
                firstPeer.add(p); // leave it for the next call
                return p;
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        private void acceptLoop() {
            try {
                while (true) {
                    Peer p = new Peer(socket.accept(), echo, paused);
                    peers.add(p);
                    if (peers.size() == 1) {
                        firstPeer.add(p);
                    }
                    Thread t = new Thread(p::run, "test-server-peer");
                    t.setDaemon(true);
                    t.start();
                }
            } catch (IOException closed) {
                // server closed
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (Peer p : peers) {
                p.resume();
                p.socket.close();
            }
        }
    }

    /** One connection accepted by a {@link TestServer}. */
    private static final class Peer {
        private static final int CAPTURE_LIMIT = 64 * 1024;

        final Socket socket;
        private final boolean echo;
        private final CountDownLatch resumed;
        private final AtomicLong received = new AtomicLong();
        private final ByteArrayOutputStream captured = new ByteArrayOutputStream(); // guarded by itself
        private volatile boolean ended;

        Peer(Socket socket, boolean echo, boolean paused) {
            this.socket = socket;
            this.echo = echo;
            this.resumed = new CountDownLatch(paused ? 1 : 0);
        }

        void run() {
            try {
                resumed.await();
                InputStream in = socket.getInputStream();
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (echo) {
                        send(Arrays.copyOf(buf, n));
                    } else {
                        synchronized (captured) {
                            captured.write(buf, 0, Math.max(0, Math.min(n, CAPTURE_LIMIT - captured.size())));
                        }
                    }
                    received.addAndGet(n);
                }
            } catch (IOException | InterruptedException | RuntimeException e) {
                // reset, or the server closed
            } finally {
                ended = true;
            }
        }

        long received() {
            return received.get();
        }

        String text() {
            synchronized (captured) {
                return captured.toString(US_ASCII);
            }
        }

        boolean ended() {
            return ended;
        }

        void resume() {
            resumed.countDown();
        }

        void send(byte[] bytes) {
            try {
                synchronized (this) {
                    socket.getOutputStream().write(bytes);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }
    }
}
