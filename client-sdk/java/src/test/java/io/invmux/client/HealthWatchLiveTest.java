package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.LinkState;
import io.invmux.proto.v1.WatchHealthResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Health watches see a real link go down (its TCP connection cut) and come back (redialed by the sidecar). */
@ExtendWith(SidecarPairExtension.class)
class HealthWatchLiveTest {

    private static String proxiedLinkId(InvMuxClient a, SidecarPair pair) throws Exception {
        for (Link l : a.listLinks()) {
            if (l.getRemoteAddress().endsWith(":" + pair.proxy().port())) {
                return l.getLinkId();
            }
        }
        throw new AssertionError("no link through the proxy (port " + pair.proxy().port() + ") in " + a.listLinks());
    }

    @Test
    void aListenerSeesTheSnapshotThenALinkGoDownAndComeBackUp(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> a.listLinks().size() == 2);
            String linkId = proxiedLinkId(a, pair);
            List<WatchHealthResponse> events = new CopyOnWriteArrayList<>();
            try (HealthWatch watch = a.watchHealth(WatchOptions.defaults(), events::add)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> !events.isEmpty());
                WatchHealthResponse first = events.get(0);
                assertThat(first.hasSnapshot()).isTrue();
                assertThat(first.getSnapshot().getSessionsList()).singleElement()
                        .satisfies(s -> assertThat(s.getPeer()).isEqualTo(SidecarPair.PEER))
                        .satisfies(s -> assertThat(s.getLinksList()).hasSize(2));

                pair.proxy().dropConnections();

                await().atMost(Duration.ofSeconds(20)).until(() -> events.stream().anyMatch(e -> e.hasLinkDown()));
                WatchHealthResponse down = events.stream().filter(WatchHealthResponse::hasLinkDown).findFirst()
                        .orElseThrow();
                assertThat(down.getLinkDown().getLink().getLinkId()).isEqualTo(linkId);
                assertThat(down.getLinkDown().getLink().getState()).isEqualTo(LinkState.LINK_STATE_DEAD);
                await().atMost(Duration.ofSeconds(30)).until(() -> events.stream()
                        .dropWhile(e -> !e.hasLinkDown()).anyMatch(WatchHealthResponse::hasLinkUp));
                assertThat(watch.isClosed()).isFalse();
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> a.listLinks().size() == 2);
        }
    }

    @Test
    void theIteratorSeesTheSnapshotQualitySamplesAndALinkGoDownAndUp(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> a.listLinks().size() == 2);
            try (HealthEvents events = a.watchHealth(WatchOptions.defaults()
                    .withQualityInterval(Duration.ofMillis(200)))) {
                WatchHealthResponse first = events.poll(Duration.ofSeconds(10));
                assertThat(first).isNotNull();
                assertThat(first.hasSnapshot()).isTrue();
                WatchHealthResponse quality = next(events, WatchHealthResponse::hasQuality);
                assertThat(quality.getQuality().getLink().getLinkId()).isNotEmpty();
                assertThat(quality.getQuality().getLink().hasQuality()).isTrue();

                pair.proxy().dropConnections();
                WatchHealthResponse down = next(events, WatchHealthResponse::hasLinkDown);
                WatchHealthResponse up = next(events, WatchHealthResponse::hasLinkUp);
                assertThat(up.getLinkUp().getLink().getSessionId())
                        .isEqualTo(down.getLinkDown().getLink().getSessionId());
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> a.listLinks().size() == 2);
        }
    }

    private static WatchHealthResponse next(HealthEvents events,
            java.util.function.Predicate<WatchHealthResponse> wanted) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            WatchHealthResponse e = events.poll(Duration.ofSeconds(1));
            if (e != null && wanted.test(e)) {
                return e;
            }
        }
        throw new AssertionError("no such event within 30 s");
    }
}
