package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.invmux.client.examples.EchoMain;
import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import io.invmux.client.testing.TcpProxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** InvMuxClient.serve against two real sidecar processes: apps on pod-a open, a server on pod-b handles them. */
@ExtendWith(SidecarPairExtension.class)
class ServeLiveTest {
    private static final int MIB = 1 << 20;
    private static SidecarPair pair;
    private static InvMuxClient a;
    private static InvMuxClient b;

    @BeforeAll
    static void clients(SidecarPair p) {
        pair = p;
        a = p.clientA();
        b = p.clientB();
    }

    @AfterAll
    static void close() {
        a.close();
        b.close();
    }

    /** The live threads of a server's own pool. */
    private static List<Thread> poolThreads(String service) {
        String prefix = "invmux-serve-" + service + "-";
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).toList();
    }

    @Test
    void eightConcurrentEchoesThroughServeWithConcurrency4ThenCloseLeavesNoThread() throws Exception {
        String service = "java-serve-8";
        CountDownLatch fourRunning = new CountDownLatch(4);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        List<String> served = java.util.Collections.synchronizedList(new ArrayList<>());
        InvMuxServer server = b.serve(service, s -> {
            peak.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                // the first four wait for one another: four handlers run at once on the pool of four
                fourRunning.countDown();
                assertThat(fourRunning.await(30, TimeUnit.SECONDS)).isTrue();
                EchoMain.Echoed e = EchoMain.echoBack(s);
                assertThat(e.bytes()).isEqualTo(MIB);
                served.add(e.sha256());
            } finally {
                running.decrementAndGet();
            }
        }, 4);
        ExecutorService openers = Executors.newFixedThreadPool(8);
        List<EchoMain.Sent> results = new ArrayList<>();
        try {
            List<Future<EchoMain.Sent>> opened = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                long seed = i;
                opened.add(openers.submit(() -> {
                    try (InvMuxStream s = a.openStream(SidecarPair.PEER, service, Map.of())) {
                        return EchoMain.sendAndReadEcho(s, MIB, seed);
                    }
                }));
            }
            for (Future<EchoMain.Sent> f : opened) {
                results.add(f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            openers.shutdownNow();
        }
        assertThat(results).allSatisfy(r -> assertThat(r.echoed()).isTrue());
        assertThat(server.close(Duration.ofSeconds(30))).isTrue();
        assertThat(served).containsExactlyInAnyOrderElementsOf(results.stream().map(EchoMain.Sent::sentSha256)
                .toList());
        assertThat(peak.get()).isEqualTo(4);
        assertThat(server.failure()).isEmpty();
        assertThat(server.whenTerminated()).isCompleted();
        assertThat(poolThreads(service)).isEmpty();
    }

    @Test
    void aHandlerThatThrowsHasItsStreamAbortedAndServingGoesOn() throws Exception {
        String service = "java-serve-throw";
        AtomicInteger calls = new AtomicInteger();
        try (InvMuxServer server = b.serve(service, s -> {
            if (calls.incrementAndGet() == 1) {
                s.inputStream().read();
                throw new IllegalStateException("handler failed");
            }
            EchoMain.echoBack(s);
        }, 1)) {
            try (InvMuxStream first = a.openStream(SidecarPair.PEER, service)) {
                first.outputStream().write(1);
                assertThatThrownBy(() -> first.inputStream().read()).isInstanceOfSatisfying(InvMuxException.class,
                        e -> assertThat(e.code()).isIn(Status.Code.CANCELLED, Status.Code.UNAVAILABLE));
            }
            try (InvMuxStream second = a.openStream(SidecarPair.PEER, service)) {
                assertThat(EchoMain.sendAndReadEcho(second, 1000, 7).echoed()).isTrue();
            }
            assertThat(server.failure()).isEmpty();
        }
    }

    @Test
    void closeAbortsTheStreamOfAHandlerStillRunningAfterTheTimeout() throws Exception {
        String service = "java-serve-stuck";
        CountDownLatch reading = new CountDownLatch(1);
        CompletableFuture<Throwable> handlerSaw = new CompletableFuture<>();
        InvMuxServer server = b.serve(service, s -> {
            reading.countDown();
            try {
                s.inputStream().read(); // the opener never writes
                handlerSaw.complete(null);
            } catch (Exception e) {
                handlerSaw.complete(e);
                throw e;
            }
        }, 2);
        try (InvMuxStream opener = a.openStream(SidecarPair.PEER, service)) {
            assertThat(reading.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(server.close(Duration.ofMillis(200))).isFalse();
            assertThat(handlerSaw.get(10, TimeUnit.SECONDS)).isInstanceOf(java.io.IOException.class);
            assertThatThrownBy(() -> opener.inputStream().read()).isInstanceOf(InvMuxException.class);
        }
        assertThat(server.whenTerminated()).isCompleted();
        assertThat(poolThreads(service)).isEmpty();
    }

    @Test
    void theServerRetriesWhenItsConnectionBreaksAndServesAgain() throws Exception {
        String service = "java-serve-retry";
        int apiPort = Integer.parseInt(pair.endpointB().substring(pair.endpointB().lastIndexOf(':') + 1));
        try (TcpProxy proxy = new TcpProxy(apiPort);
                InvMuxClient c = InvMuxClient.builder().endpoint("127.0.0.1:" + proxy.port()).token(null).build();
                InvMuxServer server = c.serve(service, EchoMain::echoBack, 2)) {
            echoThrough(service, 0);
            proxy.dropConnections(); // the calls waiting fail with UNAVAILABLE
            // a second connection: the server called again after the failure (the channel only reconnects for a call)
            await().atMost(Duration.ofSeconds(30)).until(() -> proxy.accepted() >= 2);
            // a stream reaching pod-b before it has taken the loss of the first connection goes to one of the two
            // calls that died with it, and is reset
            echoThrough(service, 2);
            assertThat(server.failure()).isEmpty();
        }
    }

    /** Opens streams to {@code service} until one is echoed; up to {@code resets} may be reset on the way. */
    private static void echoThrough(String service, int resets) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try (InvMuxStream s = a.openStream(SidecarPair.PEER, service)) {
                assertThat(EchoMain.sendAndReadEcho(s, 1000, attempt).echoed()).isTrue();
                return;
            } catch (InvMuxException e) {
                if (e.code() != Status.Code.CANCELLED || attempt >= resets) {
                    throw e;
                }
            }
        }
    }

    @Test
    void aFailureNoRetryCuresStopsTheServer() throws Exception {
        InvMuxServer server = b.serve("bad service!", s -> { }, 2);
        assertThat(server.awaitTermination(Duration.ofSeconds(30))).isTrue();
        assertThat(server.failure()).hasValueSatisfying(e -> {
            assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getMessage()).contains("accept.service");
        });
        assertThatThrownBy(() -> server.whenTerminated().get()).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(InvMuxException.class);
        server.close();
        assertThat(poolThreads("bad service!")).isEmpty();
        assertThatThrownBy(() -> b.serve("x", s -> { }, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("concurrency must be at least 1, was 0");
    }

    @Test
    void closingTheClientStopsTheServerWithCancelled() throws Exception {
        InvMuxClient c = pair.clientB();
        InvMuxServer server = c.serve("java-serve-closed", s -> { }, 2);
        c.close();
        assertThat(server.awaitTermination(Duration.ofSeconds(30))).isTrue();
        assertThat(server.failure()).hasValueSatisfying(e -> {
            assertThat(e.code()).isEqualTo(Status.Code.CANCELLED);
            assertThat(e.getMessage()).contains("the client was closed");
        });
        server.close();
    }
}
