package io.invmux.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.Pair;
import io.invmux.Stream;
import io.invmux.StreamResetException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a peer's service names may cost the router: streams of a real session pair routed by made-up names. */
class ServiceRouterTest {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final List<String> refused = new CopyOnWriteArrayList<>();

    @AfterEach
    void stopTimer() {
        timer.shutdownNow();
    }

    private ServiceRouter router(long pendingTimeoutMillis) {
        return new ServiceRouter((stream, service, target) -> stream.reset(), timer, pendingTimeoutMillis,
                (bound, message) -> refused.add(bound + ": " + message));
    }

    /** A stream the client opened, as the server side's router receives it for {@code service}. */
    private static Incoming incoming(Pair pair, Stream[] near, String service) throws Exception {
        near[0] = pair.client.openStream(new byte[0]);
        near[0].setReadTimeout(Duration.ofSeconds(60)); // a guard against hanging only
        near[0].outputStream().write('x');
        near[0].outputStream().flush();
        return new Incoming(pair.server.acceptStream(Duration.ofSeconds(10)), "s1", "pod-x", service, Map.of());
    }

    @Test
    void aStreamNamingNoValidServiceIsResetProtocolErrorWithoutLoggingTheName() throws Exception {
        ServiceRouter router = router(10_000);
        try (Pair pair = Pair.tcp(Config.defaults(), 1)) {
            for (String bad : List.of("", "a b", "x".repeat(129), "evil\n[WARN] forged line")) {
                Stream[] near = new Stream[1];
                router.route(incoming(pair, near, bad));
                assertThatThrownBy(() -> near[0].inputStream().read()).isInstanceOfSatisfying(
                        StreamResetException.class, e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR));
            }
            assertThat(router.queuedServices()).isZero();
            assertThat(refused).hasSize(4).allMatch(r -> r.startsWith(ServiceRouter.BAD_NAME + ": stream "))
                    .noneMatch(r -> r.contains("forged") || r.contains("xxxx"));
        }
    }

    @Test
    void queuesOfMadeUpServicesGoOnceTheirStreamsExpireOrAreAccepted() throws Exception {
        ServiceRouter router = router(200);
        try (Pair pair = Pair.tcp(Config.defaults(), 1)) {
            for (int i = 0; i < 20; i++) {
                router.route(incoming(pair, new Stream[1], "made-up-" + i));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> router.queuedServices() == 0);
            assertThat(router.pendingStreams()).isZero();
            assertThat(refused).hasSize(20).allMatch(r -> r.startsWith(ServiceRouter.ACCEPT_TIMEOUT + ": stream "));

            // An acceptor that gives up leaves nothing behind either; one that takes a stream empties its queue.
            CompletableFuture<Incoming> gaveUp = router.accept("waited-for");
            assertThat(router.queuedServices()).isEqualTo(1);
            gaveUp.cancel(false);
            assertThat(router.queuedServices()).isZero();
            router.route(incoming(pair, new Stream[1], "taken"));
            assertThat(router.accept("taken")).isCompleted();
            assertThat(router.queuedServices()).isZero();
        }
    }

    @Test
    void aStreamGivenBackByAGoneAcceptorGoesToTheNextOneOrWaitsFirstInLine() throws Exception {
        ServiceRouter router = router(10_000);
        try (Pair pair = Pair.tcp(Config.defaults(), 1)) {
            // Two acceptors wait; the first is handed the stream but its call is gone, so it gives it back.
            CompletableFuture<Incoming> gone = router.accept("svc");
            CompletableFuture<Incoming> next = router.accept("svc");
            Stream[] near = new Stream[1];
            router.route(incoming(pair, near, "svc"));
            assertThat(gone).isCompleted();
            assertThat(next).isNotDone();
            router.giveBack(gone.join());
            assertThat(next).isCompletedWithValue(gone.join());
            assertThat(router.queuedServices()).isZero();

            // With nobody waiting, it goes ahead of a stream that arrived after it.
            CompletableFuture<Incoming> goneToo = router.accept("svc");
            Stream[] earlier = new Stream[1];
            router.route(incoming(pair, earlier, "svc"));
            router.route(incoming(pair, new Stream[1], "svc"));
            router.giveBack(goneToo.join());
            assertThat(router.pendingStreams()).isEqualTo(2);
            assertThat(router.accept("svc").join()).isSameAs(goneToo.join());

            // Neither given-back stream was reset: the one the second acceptor holds still carries bytes both ways.
            Stream far = next.join().stream();
            far.setReadTimeout(Duration.ofSeconds(60));
            assertThat(far.inputStream().read()).isEqualTo('x');
            far.outputStream().write('y');
            far.outputStream().flush();
            assertThat(near[0].inputStream().read()).isEqualTo('y');
            assertThat(refused).isEmpty();
        }
    }
}
