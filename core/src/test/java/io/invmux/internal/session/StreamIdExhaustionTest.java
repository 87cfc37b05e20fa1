package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.Pair;
import io.invmux.SessionClosedException;
import io.invmux.Stream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Stream ids are 32-bit and never reused: the last one is used, then the session goes away. */
class StreamIdExhaustionTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void theLastStreamIdsWorkThenOpeningFailsAndThePeerIsToldTheSessionGoesAway() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            MuxSession client = (MuxSession) p.client;
            client.skipStreamIdsForTest(0xFFFF_FFFDL);
            for (long expected : new long[] {0xFFFF_FFFDL, 0xFFFF_FFFFL}) {
                Stream out = client.openStream(new byte[0]);
                assertThat(Integer.toUnsignedLong(out.id())).isEqualTo(expected);
                out.outputStream().write(7);
                out.closeWrite();
                Stream in = p.server.acceptStream(WAIT);
                assertThat(in.id()).isEqualTo(out.id());
                assertThat(in.inputStream().readAllBytes()).containsExactly(7);
            }
            assertThatThrownBy(() -> client.openStream(new byte[0]))
                    .isInstanceOfSatisfying(SessionClosedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
                        assertThat(e.getMessage()).contains("stream ids").contains("new session");
                    });
            // The peer was told: it opens no new streams on this session either.
            await().atMost(WAIT).untilAsserted(() -> assertThatThrownBy(() -> p.server.openStream(new byte[0]))
                    .isInstanceOf(SessionClosedException.class).hasMessageContaining("going away"));
            assertThat(client.stats().limitsHit()).containsEntry("streamIds", 1L);
        }
    }
}
