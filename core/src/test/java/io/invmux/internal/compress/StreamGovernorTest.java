package io.invmux.internal.compress;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StreamGovernorTest {
    @Test
    void afterFourFailuresTriesGetRarerUpToOneInTheMaximumSkip() {
        StreamGovernor g = new StreamGovernor();
        int tries = 0;
        int switches = 0;
        for (int chunk = 0; chunk < 10_000; chunk++) {
            if (g.shouldTry()) {
                tries++;
                if (g.onTried(false)) {
                    switches++;
                }
            }
        }
        assertThat(switches).isEqualTo(1);
        assertThat(g.sendingRaw()).isTrue();
        // 4 + tries after 8, 16, 32, 64, 128 skipped, then one per 257 chunks
        assertThat(tries).isBetween(40, 50);
    }

    @Test
    void aChunkThatShrinksEndsTheBackoff() {
        StreamGovernor g = new StreamGovernor();
        for (int i = 0; i < 4; i++) {
            g.onTried(false);
        }
        assertThat(g.sendingRaw()).isTrue();
        int skipped = 0;
        while (!g.shouldTry()) {
            skipped++;
        }
        assertThat(skipped).isEqualTo(StreamGovernor.FIRST_SKIP);
        g.onTried(true);
        assertThat(g.sendingRaw()).isFalse();
        assertThat(g.shouldTry()).isTrue();
    }
}
