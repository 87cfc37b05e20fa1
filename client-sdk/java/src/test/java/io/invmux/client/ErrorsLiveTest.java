package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad requests surface their gRPC status codes; waiting for a sidecar that is not there times out clearly. */
@ExtendWith(SidecarPairExtension.class)
class ErrorsLiveTest {

    @Test
    void badRequestsSurfaceTheirStatusCodes(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            assertThatThrownBy(() -> a.openStream(SidecarPair.PEER, ""))
                    .isInstanceOfSatisfying(InvMuxException.class, e -> {
                        assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.description()).contains("open.service");
                    });
            assertThatThrownBy(() -> a.openStream("no-such-peer", "echo"))
                    .isInstanceOfSatisfying(InvMuxException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND));
            assertThatThrownBy(() -> a.acceptStreamAsync("bad service!").get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause()
                    .isInstanceOfSatisfying(InvMuxException.class, e -> {
                        assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.description()).contains("accept.service");
                    });
            assertThatThrownBy(() -> a.removeLink("0123456789abcdef0123456789abcdef", "1"))
                    .isInstanceOfSatisfying(InvMuxException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND));
            assertThatThrownBy(() -> a.openStream(SidecarPair.PEER, "echo", Map.of("k", "x".repeat(9000))))
                    .isInstanceOfSatisfying(InvMuxException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT));

            AtomicReference<InvMuxException> failure = new AtomicReference<>();
            HealthWatch w = a.watchHealth(WatchOptions.defaults().withQualityInterval(Duration.ofMillis(1)),
                    new HealthListener() {
                        @Override
                        public void onEvent(io.invmux.proto.v1.WatchHealthResponse event) {
                        }

                        @Override
                        public void onError(InvMuxException error) {
                            failure.set(error);
                        }
                    });
            await().atMost(Duration.ofSeconds(10)).until(() -> failure.get() != null);
            assertThat(failure.get().code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(failure.get().description()).contains("quality_interval");
            assertThat(w.isClosed()).isTrue();
        }
    }

    @Test
    void waitForSidecarTimesOutClearlyWhenNothingListens() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        } // nothing listens there now
        try (InvMuxClient c = InvMuxClient.builder().endpoint("127.0.0.1:" + port).build()) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> c.waitForSidecar(Duration.ofSeconds(1)))
                    .isInstanceOf(TimeoutException.class)
                    .hasMessageContaining("127.0.0.1:" + port)
                    .hasMessageContaining("not ready within 1000 ms")
                    .hasMessageContaining("UNAVAILABLE");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        }
    }
}
