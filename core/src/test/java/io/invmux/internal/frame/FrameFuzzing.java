package io.invmux.internal.frame;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fuzzing of the frame decoder: the property every input must keep, and a mutation driver that makes inputs from
 * valid frame streams (bytes flipped, inserted, deleted, duplicated, cut). Used by the Jazzer target
 * ({@link FrameDecoderFuzzTest}) and by the short deterministic run in the normal suite.
 */
public final class FrameFuzzing {
    public static final int MAX_CHUNK = 32 * 1024;
    /** Builds inputs: heap buffers, not leak-tracked (paranoid tracking costs a stack trace per buffer). */
    private static final ByteBufAllocator ALLOC = new io.netty.buffer.UnpooledByteBufAllocator(false, true);

    private FrameFuzzing() {
    }

    /**
     * Feeds {@code input} to a decoder in pieces cut where {@code cuts} says: it yields frames within their limits
     * and then at most one link error (a {@link FrameException} with a code), never another exception, and holds
     * no buffer afterwards.
     */
    public static void decode(byte[] input, int cuts) {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(MAX_CHUNK, HelloFrame.maxPayload(List.of())));
        int failures = 0;
        int pos = 0;
        int piece = 1 + Math.floorMod(cuts, 97);
        try {
            while (pos < input.length) {
                int n = Math.min(piece, input.length - pos);
                try {
                    channel.writeInbound(Unpooled.wrappedBuffer(input, pos, n));
                } catch (FrameException e) {
                    failures++;
                    assertThat(e.errorCode()).isNotNull().isNotEqualTo(ErrorCode.NO_ERROR);
                    assertThat(e.getMessage()).isNotBlank();
                }
                pos += n;
                piece = 1 + (piece * 31 + 7) % 4096;
                Object frame;
                while ((frame = channel.readInbound()) != null) {
                    try {
                        checkLimits((Frame) frame);
                    } finally {
                        ReferenceCountUtil.release(frame);
                    }
                }
            }
            assertThat(failures).as("link errors raised").isLessThanOrEqualTo(1);
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    private static void checkLimits(Frame frame) {
        if (frame instanceof DataFrame) {
            DataFrame d = (DataFrame) frame;
            assertThat(d.payload.readableBytes()).isLessThanOrEqualTo(MAX_CHUNK);
            assertThat(d.offset).isNotNegative();
            assertThat(d.streamId).isNotZero();
        } else if (frame instanceof HelloFrame) {
            HelloFrame h = (HelloFrame) frame;
            assertThat(h.maxChunkSize).isGreaterThanOrEqualTo(HelloFrame.MIN_CHUNK);
            assertThat(h.auth.length).isLessThanOrEqualTo(Wire.MAX_AUTH_LENGTH);
        }
    }

    /** A valid link input: the preface and a few frames of every type, chosen by {@code random}. */
    public static byte[] validStream(SplittableRandom random) {
        int frames = 1 + random.nextInt(8);
        Frame[] list = new Frame[frames];
        for (int i = 0; i < frames; i++) {
            list[i] = randomFrame(random);
        }
        return encode(list);
    }

    /** The preface, then {@code frames} encoded. */
    public static byte[] encode(Frame... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        append(out, FrameEncoder.encodePreface(ALLOC));
        for (Frame f : frames) {
            append(out, FrameEncoder.encode(ALLOC, f));
        }
        return out.toByteArray();
    }

    static Frame randomFrame(SplittableRandom random) {
        int stream = 1 + random.nextInt(1000);
        switch (random.nextInt(7)) {
            case 0: {
                byte[] data = new byte[random.nextInt(2000)];
                random.nextBytes(data);
                return new DataFrame(stream, random.nextInt(2), random.nextLong(1L << 40), Unpooled.wrappedBuffer(data));
            }
            case 1:
                return new OpenFrame(stream, new byte[random.nextInt(64)]);
            case 2:
                return new AckFrame(random.nextInt(3) == 0 ? 0 : stream, random.nextInt(8), random.nextLong(1L << 40),
                        random.nextLong(1L << 40));
            case 3:
                return new ResetFrame(stream, ErrorCode.CANCEL, "reset " + random.nextInt());
            case 4:
                return new PingFrame(random.nextBoolean(), random.nextLong(), random.nextLong(1L << 40));
            case 5:
                return new GoAwayFrame(random.nextBoolean(), ErrorCode.NO_ERROR, "bye");
            default: {
                byte[] id = new byte[HelloFrame.SESSION_ID_LENGTH];
                random.nextBytes(id);
                byte[] auth = new byte[random.nextInt(64)];
                random.nextBytes(auth);
                return new HelloFrame(random.nextInt(8), id, random.nextInt(), 32 * 1024, 256 * 1024, 64 << 20,
                        List.of(), auth);
            }
        }
    }

    /** {@code input} with 1 to 4 random mutations: flip, insert, delete, duplicate a run, or cut the tail. */
    public static byte[] mutate(byte[] input, SplittableRandom random) {
        byte[] b = input;
        for (int m = 1 + random.nextInt(4); m > 0; m--) {
            if (b.length == 0) {
                return new byte[] {(byte) random.nextInt()};
            }
            int at = random.nextInt(b.length);
            switch (random.nextInt(5)) {
                case 0:
                    b = b.clone();
                    b[at] ^= (byte) (1 << random.nextInt(8));
                    break;
                case 1: {
                    byte[] c = new byte[b.length + 1];
                    System.arraycopy(b, 0, c, 0, at);
                    c[at] = (byte) (random.nextBoolean() ? random.nextInt() : 0xFF);
                    System.arraycopy(b, at, c, at + 1, b.length - at);
                    b = c;
                    break;
                }
                case 2: {
                    byte[] c = new byte[b.length - 1];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + 1, c, at, b.length - at - 1);
                    b = c;
                    break;
                }
                case 3: {
                    int len = Math.min(b.length - at, 1 + random.nextInt(32));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at + len);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                    break;
                }
                default:
                    b = java.util.Arrays.copyOf(b, at);
            }
        }
        return b;
    }

    private static void append(ByteArrayOutputStream out, ByteBuf buf) {
        try {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            out.writeBytes(bytes);
        } finally {
            buf.release();
        }
    }
}
