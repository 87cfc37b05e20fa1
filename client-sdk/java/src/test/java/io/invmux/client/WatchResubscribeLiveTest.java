package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import io.invmux.proto.v1.ResyncReason;
import io.invmux.proto.v1.WatchHealthResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Both forms of health watch open the watch again when their sidecar restarts, resuming: the new run says it is
 * another (a snapshot with resync_reason SIDECAR_RESTARTED).
 */
@ExtendWith(SidecarPairExtension.class)
class WatchResubscribeLiveTest {

    @Test
    void watchesResubscribeWhenTheSidecarRestarts(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            List<WatchHealthResponse> seen = new CopyOnWriteArrayList<>();
            AtomicInteger reconnects = new AtomicInteger();
            try (HealthEvents events = a.watchHealth(WatchOptions.defaults());
                    HealthWatch watch = a.watchHealth(WatchOptions.defaults(), new HealthListener() {
                        @Override
                        public void onEvent(WatchHealthResponse event) {
                            seen.add(event);
                        }

                        @Override
                        public void onReconnecting(InvMuxException cause, Duration delay) {
                            reconnects.incrementAndGet();
                        }
                    })) {
                WatchHealthResponse first = events.poll(Duration.ofSeconds(10));
                assertThat(first).isNotNull();
                assertThat(first.hasSnapshot()).isTrue();
                await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
                String oldSession = first.getSnapshot().getSessions(0).getSessionId();

                pair.restartA();

                // the iterator: events of the old sidecar's end, then a fresh snapshot from the new one
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                WatchHealthResponse again = null;
                while (again == null && System.nanoTime() < deadline) {
                    WatchHealthResponse e = events.poll(Duration.ofSeconds(1));
                    if (e != null && e.hasSnapshot()) {
                        again = e;
                    }
                }
                assertThat(again).as("a snapshot after the restart").isNotNull();
                assertThat(again.getSnapshot().getResyncReason()).as("the resumed watch is told the sidecar restarted")
                        .isEqualTo(ResyncReason.RESYNC_REASON_SIDECAR_RESTARTED);
                assertThat(again.getEpoch()).isNotEqualTo(first.getEpoch());
                // the listener: reconnected at least once, and a second snapshot
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> seen.stream().filter(WatchHealthResponse::hasSnapshot).count() >= 2);
                assertThat(reconnects.get()).isPositive();
                assertThat(watch.isClosed()).isFalse();
                // and the new sidecar's session shows up in the watch
                await().atMost(Duration.ofSeconds(30)).until(() -> seen.stream().anyMatch(e ->
                        (e.hasSnapshot() && e.getSnapshot().getSessionsCount() > 0
                                && !e.getSnapshot().getSessions(0).getSessionId().equals(oldSession))
                                || (e.hasSession() && !e.getSession().getSession().getSessionId().equals(oldSession))));
            }
        }
    }
}
