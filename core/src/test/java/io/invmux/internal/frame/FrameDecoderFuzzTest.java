package io.invmux.internal.frame;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The frame decoder against hostile bytes. {@link #decodesAnyInput} is a Jazzer target: in the normal suite it
 * replays its stored inputs; {@code JAZZER_FUZZ=1} fuzzes it, coverage-guided (docs/SECURITY.md has the figures of
 * a long run). The mutation run below is the short, deterministic fuzzing of every build.
 */
class FrameDecoderFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void decodesAnyInput(byte[] input) {
        FrameFuzzing.decode(input, input.length == 0 ? 0 : input[0]);
    }

    @Test
    void mutatedFrameStreamsYieldFramesWithinLimitsOrOneLinkError() {
        SplittableRandom random = new SplittableRandom(20_261_204);
        for (int i = 0; i < 5_000; i++) {
            byte[] input = FrameFuzzing.mutate(FrameFuzzing.validStream(random), random);
            FrameFuzzing.decode(input, random.nextInt());
        }
    }
}
