package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.invmux.Config;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.FrameDecoder;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.FrameFuzzing;
import io.invmux.internal.frame.HelloFrame;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The accepting end's handshake against hostile bytes: whatever a stranger sends, the link is refused or waits,
 * no exception escapes the pipeline, no session is created without the proof, and once the link is gone it
 * leaves nothing behind (no handshake counted, no half-started session, no buffer).
 */
class HandshakeFuzzTest {
    private static final MuxSessionListener LISTENER = new MuxSessionListener(Config.defaults());

    static void accept(byte[] input) {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(FrameFuzzing.MAX_CHUNK,
                HelloFrame.maxPayload(List.of())), FrameEncoder.INSTANCE, new LinkHandler(LISTENER));
        try {
            channel.writeInbound(Unpooled.wrappedBuffer(input));
            channel.checkException();
            assertThat((Object) channel.readInbound()).as("frames passed beyond the handshake").isNull();
        } finally {
            channel.finishAndReleaseAll();
        }
        assertThat(LISTENER.handshakesInFlight()).isZero();
        assertThat(LISTENER.pendingSessionCount()).isZero();
        assertThat(LISTENER.sessions()).isEmpty();
    }

    /** Found by the mutation run: frames after a refused HELLO in the same read refused the link again. */
    @Test
    void framesAfterARefusalInTheSameReadAreDroppedAndTheLinkIsRefusedOnce() {
        long before = LISTENER.refusedLinks();
        HelloFrame reply = new HelloFrame(Frame.FLAG_ACK, new byte[HelloFrame.SESSION_ID_LENGTH], 1, 32 * 1024,
                256 * 1024, 64 << 20, List.of(), new byte[16]);
        byte[] valid = FrameFuzzing.encode(reply, new io.invmux.internal.frame.PingFrame(false, 1, 0));
        byte[] input = java.util.Arrays.copyOf(valid, valid.length + 10);
        input[valid.length] = 0x68; // then a frame of an unknown type
        accept(input);
        assertThat(LISTENER.refusedLinks() - before).isEqualTo(1);
    }

    @FuzzTest(maxDuration = "60s")
    void refusesOrAwaitsAnyInputAndLeavesNothingBehind(byte[] input) {
        accept(input);
    }

    @Test
    void mutatedHandshakesAreRefusedOrAwaitedAndLeaveNothingBehind() {
        SplittableRandom random = new SplittableRandom(20_261_205);
        for (int i = 0; i < 1_000; i++) {
            accept(FrameFuzzing.mutate(validHandshake(random), random));
        }
    }

    /** A HELLO request for a new session as a dialer sends it, then a proof (with a MAC that cannot be right). */
    private static byte[] validHandshake(SplittableRandom random) {
        byte[] id = new byte[HelloFrame.SESSION_ID_LENGTH];
        random.nextBytes(id);
        byte[] auth = new byte[Handshake.NONCE_LENGTH + (random.nextBoolean() ? Handshake.SECRET_LENGTH : 0)];
        random.nextBytes(auth);
        Config d = Config.defaults();
        HelloFrame request = new HelloFrame(random.nextBoolean() ? Frame.FLAG_HELLO_NEW_SESSION : 0, id, 1,
                d.maxChunkSize(), d.windowSize(), d.sessionWindowSize(), List.of(), auth);
        byte[] mac = new byte[Handshake.MAC_LENGTH];
        random.nextBytes(mac);
        HelloFrame proof = new HelloFrame(Frame.FLAG_HELLO_PROOF, id, 1, d.maxChunkSize(), d.windowSize(),
                d.sessionWindowSize(), List.of(), mac);
        return random.nextBoolean() ? FrameFuzzing.encode(request, proof) : FrameFuzzing.encode(request);
    }
}
