package io.invmux.internal.frame;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.invmux.ErrorCode;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The wire codec: {@link FrameEncoder} turns frames into bytes and {@link FrameDecoder} turns them back, refusing
 * malformed input with a {@link FrameException} carrying the right {@link ErrorCode}.
 *
 * <p>Every buffer the codec allocates, and every buffer these tests feed it, comes from a {@link TrackingAllocator};
 * after each test all of them must have been released (refCnt 0), so a leak fails the test instead of only being
 * logged by Netty's leak detector.
 */
class FrameCodecTest {
    private static final int MAX_CHUNK = 32 * 1024;

    private final TrackingAllocator alloc = new TrackingAllocator();
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    /** Frames (or anything reference counted) the test got hold of; released after the test. */
    private final List<Object> toRelease = new ArrayList<>();

    @AfterEach
    void releaseEverythingAndCheckForLeaks() {
        toRelease.forEach(ReferenceCountUtil::release);
        toRelease.clear();
        for (EmbeddedChannel ch : channels) {
            ch.finishAndReleaseAll();
        }
        channels.clear();
        alloc.assertAllReleased();
    }

    // =============================================================================================================
    // Round trips
    // =============================================================================================================

    @Nested
    class RoundTrip {
        @Test
        void dataFrameWithoutFinKeepsStreamOffsetAndPayload() {
            assertRoundTrip(() -> List.of(data(1, 0, 0, "hello".getBytes(UTF_8))));
        }

        @Test
        void dataFrameWithFinKeepsTheFlag() {
            assertRoundTrip(() -> List.of(data(3, Frame.FLAG_FIN, 12_345_678_901L, randomBytes(1, 100))));
            // and the decoded frame reports it
            List<Frame> frames = roundTrip(data(3, Frame.FLAG_FIN, 7, new byte[] {1}));
            assertThat(((DataFrame) frames.get(0)).fin()).isTrue();
        }

        @Test
        void zeroLengthDataFrameWithFinRoundTrips() {
            assertRoundTrip(() -> List.of(data(5, Frame.FLAG_FIN, 42, new byte[0])));
        }

        @Test
        void dataFrameOfExactlyMaxChunkBytesIsAccepted() {
            assertRoundTrip(() -> List.of(data(7, 0, 0, randomBytes(2, MAX_CHUNK))));
        }

        @Test
        void dataFrameKeepsUnsignedStreamIdsAndExtremeOffsets() {
            assertRoundTrip(() -> List.of(
                    data(0xFFFF_FFFE, 0, 0, new byte[] {9, 8, 7}),
                    data(0x8000_0001, Frame.FLAG_FIN, Long.MAX_VALUE, new byte[0])));
        }

        @Test
        void decodedDataPayloadHoldsExactlyThePayloadBytes() {
            byte[] payload = randomBytes(3, 1000);
            List<Frame> frames = roundTrip(data(9, 0, 77, payload));
            DataFrame d = (DataFrame) frames.get(0);
            assertThat(d.payload.readableBytes()).isEqualTo(payload.length);
            assertThat(ByteBufUtil.getBytes(d.payload)).isEqualTo(payload);
        }

        @Test
        void openFrameWithMetadataRoundTrips() {
            assertRoundTrip(() -> List.of(new OpenFrame(1, "service=echo".getBytes(UTF_8))));
        }

        @Test
        void openFrameWithEmptyMetadataRoundTrips() {
            assertRoundTrip(() -> List.of(new OpenFrame(3, new byte[0])));
        }

        @Test
        void openFrameWithTheLargestAllowedMetadataRoundTrips() {
            assertRoundTrip(() -> List.of(new OpenFrame(5, randomBytes(4, Wire.MAX_METADATA_LENGTH))));
        }

        @Test
        void ackFrameRoundTripsWithEveryFlag() {
            assertRoundTrip(() -> List.of(
                    new AckFrame(1, 0, 100, 200),
                    new AckFrame(3, Frame.FLAG_ACK_FIN, 4096, 1 << 20),
                    new AckFrame(5, Frame.FLAG_ACK_CLOSED, 0, 0),
                    new AckFrame(7, Frame.FLAG_ACK_FIN | Frame.FLAG_ACK_CLOSED, Long.MAX_VALUE, Long.MAX_VALUE),
                    new AckFrame(0, 0, 0, 64L << 20))); // stream 0: the session window
        }

        @Test
        void rstFrameRoundTripsWithItsMessage() {
            assertRoundTrip(() -> List.of(
                    new ResetFrame(7, ErrorCode.CANCEL, "cancelled by the application"),
                    new ResetFrame(9, ErrorCode.REFUSED_STREAM, ""),
                    new ResetFrame(11, ErrorCode.INTERNAL_ERROR, "räumt auf ✓ — 完了")));
        }

        @Test
        void rstFrameRoundTripsEveryErrorCode() {
            assertRoundTrip(() -> Arrays.stream(ErrorCode.values())
                    .map(c -> (Frame) new ResetFrame(1 + 2 * c.ordinal(), c, c.name()))
                    .toList());
        }

        @Test
        void rstFrameWithoutMessageDecodesWithAnEmptyMessage() {
            List<Frame> frames = roundTrip(new ResetFrame(13, ErrorCode.CANCEL, null));
            assertThat(((ResetFrame) frames.get(0)).message).isEmpty();
        }

        @Test
        void overlongRstMessageIsCutToTheWireLimit() {
            String longMessage = "x".repeat(3 * Wire.MAX_MESSAGE_LENGTH);
            List<Frame> frames = roundTrip(new ResetFrame(15, ErrorCode.CANCEL, longMessage));
            assertThat(((ResetFrame) frames.get(0)).message).isEqualTo("x".repeat(Wire.MAX_MESSAGE_LENGTH));
        }

        @Test
        void overlongMessageIsCutOnACharacterBoundary() {
            // 1023 ASCII bytes then a 2-byte character: the cut at 1024 bytes falls inside the 'é'.
            String longMessage = "x".repeat(Wire.MAX_MESSAGE_LENGTH - 1) + "é and more";
            List<Frame> frames = roundTrip(new GoAwayFrame(false, ErrorCode.NO_ERROR, longMessage));
            String decoded = ((GoAwayFrame) frames.get(0)).message;
            assertThat(decoded).doesNotContain("\uFFFD");
            assertThat(longMessage).startsWith(decoded);
        }

        @Test
        void pingAndPongRoundTripWithTheirOpaqueValue() {
            assertRoundTrip(() -> List.of(
                    new PingFrame(false, 0x0123_4567_89AB_CDEFL, 0),
                    new PingFrame(true, -1L, Long.MAX_VALUE),
                    new PingFrame(true, 0, 123_456_789L)));
            List<Frame> frames = roundTrip(new PingFrame(false, 1, 2), new PingFrame(true, 1, 3));
            assertThat(((PingFrame) frames.get(0)).isAck()).isFalse();
            assertThat(((PingFrame) frames.get(1)).isAck()).isTrue();
        }

        @Test
        void goAwayRoundTripsInSessionAndLinkScope() {
            assertRoundTrip(() -> List.of(
                    new GoAwayFrame(false, ErrorCode.NO_ERROR, "bye"),
                    new GoAwayFrame(true, ErrorCode.KEEPALIVE_TIMEOUT, "link idle for 800 ms"),
                    new GoAwayFrame(true, ErrorCode.HANDSHAKE_FAILED, "")));
            List<Frame> frames = roundTrip(new GoAwayFrame(false, ErrorCode.NO_ERROR, "s"),
                    new GoAwayFrame(true, ErrorCode.NO_ERROR, "l"));
            assertThat(((GoAwayFrame) frames.get(0)).linkOnly()).isFalse();
            assertThat(((GoAwayFrame) frames.get(1)).linkOnly()).isTrue();
        }

        @Test
        void helloForANewSessionRoundTripsWithMiddlewareAndAuth() {
            assertRoundTrip(() -> List.of(new HelloFrame(Frame.FLAG_HELLO_NEW_SESSION, sessionId(1), 0, 32 * 1024,
                    256 * 1024, 64 << 20, List.of("gzip", "aes-gcm", "ünïcødé"), randomBytes(5, 32))));
        }

        @Test
        void helloJoiningASessionRoundTripsWithoutMiddleware() {
            assertRoundTrip(() -> List.of(new HelloFrame(0, sessionId(2), 3, 1024, 16 * 1024, 64 * 1024, List.of(),
                    randomBytes(6, 32))));
        }

        @Test
        void helloReplyRoundTripsWithEmptyAuth() {
            assertRoundTrip(() -> List.of(
                    new HelloFrame(Frame.FLAG_ACK | Frame.FLAG_HELLO_NEW_SESSION, sessionId(3), 0, 1 << 20,
                            1 << 30, 1 << 30, List.of("passthrough"), new byte[0]),
                    new HelloFrame(Frame.FLAG_ACK, sessionId(3), 7, 1 << 20, 1 << 30, 1 << 30,
                            List.of("passthrough"), new byte[0])));
            List<Frame> frames = roundTrip(
                    new HelloFrame(Frame.FLAG_HELLO_NEW_SESSION, sessionId(4), 0, 1024, 16 * 1024, 64 * 1024,
                            List.of(), new byte[0]),
                    new HelloFrame(Frame.FLAG_ACK, sessionId(4), 1, 1024, 16 * 1024, 64 * 1024, List.of(),
                            new byte[0]));
            HelloFrame request = (HelloFrame) frames.get(0);
            HelloFrame reply = (HelloFrame) frames.get(1);
            assertThat(request.newSession()).isTrue();
            assertThat(request.isReply()).isFalse();
            assertThat(reply.newSession()).isFalse();
            assertThat(reply.isReply()).isTrue();
        }

        @Test
        void helloWithLongestMiddlewareNamesRoundTrips() {
            // 255-byte names, some made of multi-byte characters, as the Config allows
            assertRoundTrip(() -> List.of(new HelloFrame(Frame.FLAG_HELLO_NEW_SESSION, sessionId(5), 0, 32 * 1024,
                    256 * 1024, 64 << 20, List.of("a".repeat(255), "é".repeat(127) + "b", "c"), randomBytes(7, 32))));
        }

        @Test
        void helloForTheLargestMiddlewareChainTheConfigAcceptsIsDecodable() {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 255; i++) {
                names.add(String.format("%03d", i) + "m".repeat(252));
            }
            assertRoundTrip(() -> List.of(new HelloFrame(Frame.FLAG_HELLO_NEW_SESSION, sessionId(6), 0, 32 * 1024,
                    256 * 1024, 64 << 20, names, randomBytes(8, 32))));
        }

        @Test
        void everyFrameTypeInOneStreamRoundTripsInOrder() {
            assertRoundTrip(FrameCodecTest.this::oneOfEachType);
        }
    }

    // =============================================================================================================
    // Framing: partial input and several frames per buffer
    // =============================================================================================================

    @Test
    void inputFedOneByteAtATimeDecodesTheSameFramesEachAsSoonAsItsLastByteArrives() {
        List<Frame> expected = oneOfEachType();
        toRelease.addAll(expected);
        EncodedStream encoded = encode(oneOfEachType());

        EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
        List<Frame> decoded = new ArrayList<>();
        for (int i = 0; i < encoded.bytes.length; i++) {
            decoded.addAll(feed(decoder, buffer(new byte[] {encoded.bytes[i]})));
            int bytesSoFar = i + 1;
            long completeFrames = encoded.frameEnds.stream().filter(end -> end <= bytesSoFar).count();
            assertThat(decoded).as("frames decoded after %d of %d bytes", bytesSoFar, encoded.bytes.length)
                    .hasSize((int) completeFrames);
        }
        assertFramesEqual(decoded, expected);
    }

    @Test
    void inputSplitAtRandomPointsDecodesTheSameFrames() {
        List<Frame> expected = oneOfEachType();
        toRelease.addAll(expected);
        byte[] bytes = encode(oneOfEachType()).bytes;
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 20; round++) {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            List<Frame> decoded = new ArrayList<>();
            for (int pos = 0; pos < bytes.length; ) {
                int n = Math.min(bytes.length - pos, 1 + random.nextInt(300));
                decoded.addAll(feed(decoder, buffer(Arrays.copyOfRange(bytes, pos, pos + n))));
                pos += n;
            }
            assertFramesEqual(decoded, expected);
        }
    }

    @Test
    void severalFramesInOneBufferDecodeInOrder() {
        List<Frame> expected = oneOfEachType();
        toRelease.addAll(expected);
        byte[] bytes = encode(oneOfEachType()).bytes;

        EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
        List<Frame> decoded = feed(decoder, buffer(bytes));

        assertFramesEqual(decoded, expected);
    }

    @Test
    void prefaceAloneYieldsNoFrameAndAPartialHeaderWaits() {
        EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
        assertThat(feed(decoder, raw(FrameCodecTest::writePreface))).isEmpty();
        assertThat(feed(decoder, raw(b -> b.writeByte(FrameType.PING).writeByte(0).writeInt(0)))).isEmpty();
        assertThat(feed(decoder, raw(b -> b.writeInt(Wire.PING_PAYLOAD_LENGTH).writeLong(99).writeLong(7)))).singleElement()
                .isInstanceOfSatisfying(PingFrame.class, p -> {
                    assertThat(p.opaque).isEqualTo(99);
                    assertThat(p.receivedBytes).isEqualTo(7);
                });
    }

    @Test
    void encoderSendsThePrefaceAsMagicVersionAndReservedZero() {
        EmbeddedChannel encoder = encoderChannel();
        encoder.writeOutbound(FrameEncoder.PREFACE);
        ByteBuf preface = encoder.readOutbound();
        try {
            assertThat(ByteBufUtil.getBytes(preface)).containsExactly('I', 'M', 'U', 'X', 0, Wire.VERSION, 0, 0);
        } finally {
            preface.release();
        }
    }

    @Test
    void encoderHandsTheDataPayloadOnWithoutCopying() {
        EmbeddedChannel encoder = encoderChannel();
        DataFrame frame = data(1, 0, 5, new byte[] {1, 2, 3});
        ByteBuf payload = frame.payload;
        encoder.writeOutbound(frame);
        ByteBuf header = encoder.readOutbound();
        ByteBuf body = encoder.readOutbound();
        try {
            assertThat(header.readableBytes()).isEqualTo(Wire.HEADER_LENGTH + Wire.DATA_PREFIX_LENGTH);
            assertThat(header.getUnsignedInt(Wire.LENGTH_OFFSET)).isEqualTo(Wire.DATA_PREFIX_LENGTH + 3);
            assertThat(header.getLong(Wire.HEADER_LENGTH)).isEqualTo(5);
            assertThat(body).isSameAs(payload);
        } finally {
            header.release();
            body.release();
        }
    }

    @Test
    void encoderRefusesAndReleasesAnythingThatIsNotAFrame() {
        EmbeddedChannel encoder = encoderChannel();
        ByteBuf notAFrame = buffer(new byte[] {1, 2, 3});
        Throwable thrown = catchThrowable(() -> encoder.writeOutbound(notAFrame));
        assertThat(thrown).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a frame");
        assertThat(notAFrame.refCnt()).isZero();
    }

    @Test
    void staticEncodeProducesTheSameBytesAsTheChannelEncoderAndReleasesTheDataFrame() {
        byte[] viaChannel = encode(oneOfEachType()).bytes;
        ByteBuf viaStatic = alloc.buffer();
        ByteBuf preface = FrameEncoder.encodePreface(alloc);
        viaStatic.writeBytes(preface);
        preface.release();
        for (Frame f : oneOfEachType()) {
            ByteBuf b = FrameEncoder.encode(alloc, f);
            viaStatic.writeBytes(b);
            b.release();
            if (f instanceof DataFrame) {
                assertThat(((DataFrame) f).refCnt()).isZero();
            }
        }
        try {
            assertThat(ByteBufUtil.getBytes(viaStatic)).isEqualTo(viaChannel);
        } finally {
            viaStatic.release();
        }
    }

    // =============================================================================================================
    // Rejections
    // =============================================================================================================

    @Nested
    class Rejections {
        @Test
        void garbageInsteadOfThePrefaceFailsTheHandshake() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, buffer("GET / HTTP/1.1\r\n\r\n".getBytes(UTF_8)));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("bad link preface").hasMessageContaining("IMUX")
                    .hasMessageContaining("47455420"); // "GET "
        }

        @Test
        void badMagicIsDetectedAsSoonAsTheFirstWrongByteArrives() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            assertThat(feed(decoder, buffer(new byte[] {'I'}))).isEmpty();
            assertThat(feed(decoder, buffer(new byte[] {'M'}))).isEmpty();
            FrameException e = expectFailure(decoder, buffer(new byte[] {'Z'}));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("magic").hasMessageContaining("494D5A");
        }

        @Test
        void aSingleWrongFirstByteFailsTheHandshakeAtOnce() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, buffer(new byte[] {0x16})); // a TLS ClientHello's first byte
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
        }

        @Test
        void wrongVersionIsRejectedAsUnsupported() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, raw(b -> b.writeInt(Wire.MAGIC).writeShort(2).writeShort(0)));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
            assertThat(e).hasMessageContaining("version 2").hasMessageContaining("version " + Wire.VERSION);
        }

        @Test
        void versionIsJudgedOnlyOnceThePrefaceIsComplete() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            assertThat(feed(decoder, raw(b -> b.writeInt(Wire.MAGIC).writeShort(0x0100)))).isEmpty();
            FrameException e = expectFailure(decoder, raw(b -> b.writeShort(0)));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
            assertThat(e).hasMessageContaining("256");
        }

        @Test
        void unknownFrameTypeIsAProtocolErrorDetectedFromItsHeader() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, raw(b -> {
                writePreface(b);
                header(b, 0x07, 0, 1, 100); // body never sent
            }));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(e).hasMessageContaining("unknown frame type 0x7");
        }

        @Test
        void oversizedDataFrameIsRejectedFromItsHeaderAlone() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, raw(b -> {
                writePreface(b);
                header(b, FrameType.DATA, 0, 1, 0xFFFF_FFF0);
            }));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("DATA").hasMessageContaining("4294967280")
                    .hasMessageContaining(String.valueOf(MAX_CHUNK + Wire.DATA_PREFIX_LENGTH));
            assertThat(alloc.largestRequest()).as("no buffer of the claimed size was allocated").isLessThan(1024);
        }

        @Test
        void dataFrameOneByteOverMaxChunkIsRejectedFromItsHeader() {
            int maxChunk = 1024;
            EmbeddedChannel decoder = decoderChannel(maxChunk);
            FrameException e = expectFailure(decoder, raw(b -> {
                writePreface(b);
                header(b, FrameType.DATA, 0, 1, maxChunk + Wire.DATA_PREFIX_LENGTH + 1);
            }));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("1033").hasMessageContaining("1032");
        }

        @Test
        void dataFrameOfExactlyTheConfiguredMaxChunkIsAccepted() {
            int maxChunk = 1024;
            EmbeddedChannel decoder = decoderChannel(maxChunk);
            List<Frame> frames = feed(decoder, raw(b -> {
                writePreface(b);
                header(b, FrameType.DATA, 0, 1, maxChunk + Wire.DATA_PREFIX_LENGTH);
                b.writeLong(0).writeZero(maxChunk);
            }));
            assertThat(frames).singleElement().isInstanceOfSatisfying(DataFrame.class,
                    d -> assertThat(d.payload.readableBytes()).isEqualTo(maxChunk));
        }

        @Test
        void dataFrameShorterThanItsOffsetFieldIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.DATA, 0, 1, 7, b -> b.writeZero(7));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("DATA").hasMessageContaining("7 bytes").hasMessageContaining("8");
        }

        @Test
        void oversizedOpenMetadataIsRejectedFromItsHeader() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, raw(b -> {
                writePreface(b);
                header(b, FrameType.OPEN, 0, 1, Wire.MAX_METADATA_LENGTH + 1);
            }));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("OPEN").hasMessageContaining("16385");
        }

        @Test
        void ackWithAShortPayloadIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.ACK, 0, 1, 15, b -> b.writeZero(15));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("ACK").hasMessageContaining("15 bytes").hasMessageContaining("16");
        }

        @Test
        void ackWithALongPayloadIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.ACK, 0, 1, 17, b -> b.writeZero(17));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("ACK").hasMessageContaining("17 bytes").hasMessageContaining("16");
        }

        @Test
        void pingWithAShortPayloadIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.PING, 0, 0, 7, b -> b.writeZero(7));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("PING").hasMessageContaining("7 bytes");
        }

        @Test
        void pingWithALongPayloadIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.PING, Frame.FLAG_ACK, 0, 9, b -> b.writeZero(9));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("PING").hasMessageContaining("9 bytes");
        }

        @Test
        void rstWithoutRoomForItsErrorCodeIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.RST, 0, 1, 3, b -> b.writeZero(3));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("RST");
        }

        @Test
        void goAwayWithAnOverlongMessageIsAFrameSizeError() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, raw(b -> {
                writePreface(b);
                header(b, FrameType.GOAWAY, 0, 0, Wire.ERROR_PREFIX_LENGTH + Wire.MAX_MESSAGE_LENGTH + 1);
            }));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("GOAWAY");
        }

        @Test
        void helloShorterThanItsFixedPartIsAFrameSizeError() {
            FrameException e = expectFrameFailure(FrameType.HELLO, 0, 0, 34, b -> b.writeZero(34));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(e).hasMessageContaining("HELLO").hasMessageContaining("34 bytes");
        }

        @Test
        void dataOnStreamZeroIsAProtocolError() {
            FrameException e = expectFrameFailure(FrameType.DATA, 0, 0, 8 + 3, b -> b.writeLong(0).writeZero(3));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(e).hasMessageContaining("DATA").hasMessageContaining("stream 0");
        }

        @Test
        void openOnStreamZeroIsAProtocolError() {
            FrameException e = expectFrameFailure(FrameType.OPEN, 0, 0, 2, b -> b.writeShort(0));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(e).hasMessageContaining("OPEN").hasMessageContaining("stream 0");
        }

        @Test
        void rstOnStreamZeroIsAProtocolError() {
            FrameException e = expectFrameFailure(FrameType.RST, 0, 0, 4, b -> b.writeInt(6));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(e).hasMessageContaining("RST").hasMessageContaining("stream 0");
        }

        @Test
        void dataWithANegativeOffsetIsAProtocolError() {
            FrameException e = expectFrameFailure(FrameType.DATA, 0, 1, 8, b -> b.writeLong(-1));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(e).hasMessageContaining("negative offset");
        }

        @Test
        void ackWithANegativeOffsetIsAProtocolError() {
            FrameException e = expectFrameFailure(FrameType.ACK, 0, 1, 16, b -> b.writeLong(0).writeLong(-5));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(e).hasMessageContaining("ACK").hasMessageContaining("negative");
        }

        @Test
        void unknownErrorCodeInRstIsReadAsProtocolError() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            List<Frame> frames = feed(decoder, raw(b -> {
                writePreface(b);
                header(b, FrameType.RST, 0, 1, 4 + 2);
                b.writeInt(0xFFFF_FFFF).writeBytes("hi".getBytes(UTF_8));
            }));
            assertThat(frames).singleElement().isInstanceOfSatisfying(ResetFrame.class, r -> {
                assertThat(r.errorCode).isEqualTo(ErrorCode.PROTOCOL_ERROR);
                assertThat(r.message).isEqualTo("hi");
            });
        }

        @Test
        void helloWithAMiddlewareNameRunningPastThePayloadFailsTheHandshake() {
            FrameException e = expectHelloFailure(b -> {
                b.writeByte(1); // one middleware name
                b.writeByte(200).writeBytes("short".getBytes(UTF_8)); // claims 200 bytes, has 5
                b.writeShort(0);
            });
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("HELLO").hasMessageContaining("truncated")
                    .hasMessageContaining("middleware name");
        }

        @Test
        void helloWithMoreMiddlewareNamesThanThePayloadHoldsFailsTheHandshake() {
            FrameException e = expectHelloFailure(b -> {
                b.writeByte(3); // three names announced
                b.writeByte(1).writeByte('a'); // only one present, then the payload ends
            });
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("truncated").hasMessageContaining("middleware name length");
        }

        @Test
        void helloWithoutItsAuthLengthFailsTheHandshake() {
            FrameException e = expectHelloFailure(b -> b.writeByte(1).writeByte(1).writeByte('a'));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("truncated").hasMessageContaining("auth length");
        }

        @Test
        void helloWithAuthRunningPastThePayloadFailsTheHandshake() {
            FrameException e = expectHelloFailure(b -> b.writeByte(0).writeShort(64).writeZero(10));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("truncated").hasMessageContaining("auth");
        }

        @Test
        void helloWithLimitsBelowTheMinimumFailsTheHandshake() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            FrameException e = expectFailure(decoder, raw(b -> {
                writePreface(b);
                ByteBuf payload = alloc.buffer();
                payload.writeBytes(sessionId(9)).writeInt(0).writeInt(0).writeInt(1024).writeInt(-1)
                        .writeByte(0).writeShort(0);
                header(b, FrameType.HELLO, 0, 0, payload.readableBytes());
                b.writeBytes(payload);
                payload.release();
            }));
            assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
            assertThat(e).hasMessageContaining("below the minimum").hasMessageContaining("chunk=0")
                    .hasMessageContaining("sessionWindow=-1");
        }

        @Test
        void afterAFailureFurtherInputIsSilentlyDiscarded() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            expectFailure(decoder, raw(b -> {
                writePreface(b);
                header(b, 0x7F, 0, 1, 0);
                header(b, 0x7E, 0, 1, 0); // a second violation in the same buffer: no second exception
            }));
            ByteBuf validFrames = encodeWithoutPreface(new PingFrame(false, 1, 0), new OpenFrame(1, new byte[] {1}));
            assertThat(decoder.writeInbound(validFrames)).isFalse();
            assertThat(decoder.writeInbound(buffer("more garbage".getBytes(UTF_8)))).isFalse();
            decoder.checkException();
            assertThat(decoder.inboundMessages()).isEmpty();
            assertThat(decoder.finish()).isFalse();
        }

        @Test
        void afterABadPrefaceFurtherInputIsSilentlyDiscarded() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            expectFailure(decoder, buffer("XXXX".getBytes(UTF_8)));
            ByteBuf valid = raw(b -> {
                writePreface(b);
                header(b, FrameType.PING, 0, 0, Wire.PING_PAYLOAD_LENGTH);
                b.writeLong(1).writeLong(0);
            });
            assertThat(decoder.writeInbound(valid)).isFalse();
            decoder.checkException();
            assertThat(decoder.finish()).isFalse();
        }

        @Test
        void framesBeforeAViolationInTheSameBufferAreStillDelivered() {
            EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
            ByteBuf input = raw(b -> {
                writePreface(b);
                header(b, FrameType.PING, 0, 0, Wire.PING_PAYLOAD_LENGTH);
                b.writeLong(42).writeLong(0);
                header(b, FrameType.DATA, 0, 1, 8 + 2);
                b.writeLong(0).writeShort(0x0102);
                header(b, 0x09, 0, 0, 0);
            });
            FrameException e = expectFailure(decoder, input);
            assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            List<Frame> delivered = drain(decoder);
            assertThat(delivered).hasSize(2);
            assertThat(delivered.get(0)).isInstanceOf(PingFrame.class);
            assertThat(delivered.get(1)).isInstanceOf(DataFrame.class);
        }
    }

    // =============================================================================================================
    // Fuzz
    // =============================================================================================================

    @Test
    void randomGarbageAndMutatedFramesYieldFramesOrAFrameExceptionButNothingElse() {
        int seeds = 500;
        int failures = 0;
        int framesYielded = 0;
        for (int seed = 0; seed < seeds; seed++) {
            SplittableRandom random = new SplittableRandom(seed * 0x9E37_79B9_7F4A_7C15L + 1);
            byte[] input = seed % 2 == 0 ? garbageAfterPreface(random) : mutatedFrames(random);
            int maxChunk = random.nextBoolean() ? MAX_CHUNK : 1024 + random.nextInt(4096);

            EmbeddedChannel decoder = new EmbeddedChannel();
            decoder.config().setAllocator(alloc);
            decoder.pipeline().addLast(new FrameDecoder(maxChunk));
            boolean failed = false;
            try {
                for (int pos = 0; pos < input.length; ) {
                    int n = Math.min(input.length - pos, 1 + random.nextInt(64));
                    ByteBuf chunk = alloc.buffer(n).writeBytes(input, pos, n);
                    pos += n;
                    Throwable thrown = catchThrowable(() -> decoder.writeInbound(chunk));
                    if (thrown != null) {
                        assertThat(thrown).as("seed %d", seed).isInstanceOf(FrameException.class);
                        assertThat(failed).as("seed %d: a second exception after the first", seed).isFalse();
                        assertThat(((FrameException) thrown).errorCode()).isNotNull();
                        failed = true;
                    }
                    Object msg;
                    while ((msg = decoder.readInbound()) != null) {
                        assertThat(msg).as("seed %d", seed).isInstanceOf(Frame.class);
                        framesYielded++;
                        ReferenceCountUtil.release(msg);
                    }
                }
                Throwable atClose = catchThrowable(decoder::finish);
                assertThat(atClose).as("seed %d: exception when the input ends", seed).isNull();
            } finally {
                decoder.finishAndReleaseAll();
            }
            if (failed) {
                failures++;
            }
            alloc.assertAllReleased();
        }
        // sanity: the generator exercises both outcomes
        assertThat(failures).isBetween(1, seeds - 1);
        assertThat(framesYielded).isPositive();
    }

    /** A valid preface, then random bytes, partly shaped like frame headers of known types with small lengths. */
    private byte[] garbageAfterPreface(SplittableRandom random) {
        ByteBuf b = alloc.buffer();
        try {
            writePreface(b);
            int pieces = 1 + random.nextInt(6);
            for (int i = 0; i < pieces; i++) {
                if (random.nextInt(3) == 0) {
                    b.writeBytes(randomBytes(random, random.nextInt(40)));
                } else {
                    int length = random.nextInt(4) == 0 ? random.nextInt() : random.nextInt(64);
                    header(b, random.nextInt(8), random.nextInt(256), random.nextInt(4), length);
                    b.writeBytes(randomBytes(random, Math.min(Math.max(length, 0), 64)));
                }
            }
            return ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }

    /** A valid encoded stream of random frames with a few bytes changed, inserted, removed or the tail cut off. */
    private byte[] mutatedFrames(SplittableRandom random) {
        List<Frame> frames = new ArrayList<>();
        int count = 1 + random.nextInt(8);
        for (int i = 0; i < count; i++) {
            frames.add(randomFrame(random));
        }
        byte[] bytes = encode(frames).bytes;
        int mutations = 1 + random.nextInt(4);
        for (int i = 0; i < mutations; i++) {
            int pos = random.nextInt(bytes.length);
            switch (random.nextInt(5)) {
                case 0: // flip bits
                    bytes[pos] ^= (byte) (1 + random.nextInt(255));
                    break;
                case 1: // set a byte to an interesting value
                    bytes[pos] = (byte) new int[] {0, 1, 0x7F, 0x80, 0xFF}[random.nextInt(5)];
                    break;
                case 2: { // insert random bytes
                    byte[] extra = randomBytes(random, 1 + random.nextInt(8));
                    byte[] grown = new byte[bytes.length + extra.length];
                    System.arraycopy(bytes, 0, grown, 0, pos);
                    System.arraycopy(extra, 0, grown, pos, extra.length);
                    System.arraycopy(bytes, pos, grown, pos + extra.length, bytes.length - pos);
                    bytes = grown;
                    break;
                }
                case 3: { // remove some bytes
                    int n = Math.min(bytes.length - pos, 1 + random.nextInt(8));
                    byte[] shrunk = new byte[bytes.length - n];
                    System.arraycopy(bytes, 0, shrunk, 0, pos);
                    System.arraycopy(bytes, pos + n, shrunk, pos, bytes.length - pos - n);
                    bytes = shrunk;
                    break;
                }
                default: // cut the tail
                    bytes = Arrays.copyOf(bytes, pos);
                    break;
            }
            if (bytes.length == 0) {
                break;
            }
        }
        return bytes;
    }

    private Frame randomFrame(SplittableRandom random) {
        int stream = 1 + random.nextInt(1000);
        switch (random.nextInt(7)) {
            case 0:
                return data(stream, random.nextInt(2), random.nextLong(1L << 40),
                        randomBytes(random, random.nextInt(200)));
            case 1:
                return new OpenFrame(stream, randomBytes(random, random.nextInt(100)));
            case 2:
                return new AckFrame(stream, random.nextInt(8), random.nextLong(Long.MAX_VALUE),
                        random.nextLong(Long.MAX_VALUE));
            case 3:
                return new ResetFrame(stream, ErrorCode.values()[random.nextInt(ErrorCode.values().length)],
                        "reset " + random.nextInt());
            case 4:
                return new PingFrame(random.nextBoolean(), random.nextLong(), random.nextLong());
            case 5:
                return new GoAwayFrame(random.nextBoolean(), ErrorCode.NO_ERROR, "going " + random.nextInt());
            default:
                List<String> names = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    names.add("mw" + random.nextInt(100));
                }
                return new HelloFrame(random.nextInt(4), randomBytes(random, HelloFrame.SESSION_ID_LENGTH),
                        random.nextInt(), HelloFrame.MIN_CHUNK + random.nextInt(1 << 20),
                        HelloFrame.MIN_STREAM_WINDOW + random.nextInt(1 << 30),
                        HelloFrame.MIN_SESSION_WINDOW + random.nextInt(1 << 30), names,
                        randomBytes(random, random.nextInt(40)));
        }
    }

    // =============================================================================================================
    // Helpers
    // =============================================================================================================

    /** One frame of every type and variant, with a fresh tracked DATA payload each call. */
    private List<Frame> oneOfEachType() {
        return List.of(
                new HelloFrame(Frame.FLAG_HELLO_NEW_SESSION, sessionId(7), 0, MAX_CHUNK, 256 * 1024, 64 << 20,
                        List.of("gzip", "aes-gcm"), randomBytes(10, 32)),
                new HelloFrame(Frame.FLAG_ACK, sessionId(7), 1, MAX_CHUNK, 256 * 1024, 64 << 20, List.of(),
                        new byte[0]),
                new OpenFrame(1, "svc".getBytes(UTF_8)),
                new OpenFrame(3, new byte[0]),
                data(1, 0, 0, randomBytes(11, 300)),
                data(1, Frame.FLAG_FIN, 300, new byte[0]),
                data(3, Frame.FLAG_FIN, 0, randomBytes(12, 5)),
                new AckFrame(1, Frame.FLAG_ACK_FIN, 300, 1 << 20),
                new AckFrame(5, Frame.FLAG_ACK_CLOSED, 0, 0),
                new ResetFrame(3, ErrorCode.CANCEL, "cancelled"),
                new PingFrame(false, 123, 4096),
                new PingFrame(true, 123, 0),
                new GoAwayFrame(true, ErrorCode.KEEPALIVE_TIMEOUT, "link"),
                new GoAwayFrame(false, ErrorCode.NO_ERROR, "session"));
    }

    /** Encodes {@code frames.get()} and decodes it again; compares with a second, independent {@code get()}. */
    private void assertRoundTrip(Supplier<List<Frame>> frames) {
        List<Frame> expected = frames.get();
        toRelease.addAll(expected);
        List<Frame> decoded = roundTrip(frames.get().toArray(new Frame[0]));
        assertFramesEqual(decoded, expected);
    }

    /** Preface and frames through a FrameEncoder channel, the bytes as they come into a FrameDecoder channel. */
    private List<Frame> roundTrip(Frame... frames) {
        EmbeddedChannel encoder = encoderChannel();
        encoder.writeOutbound(FrameEncoder.PREFACE);
        for (Frame f : frames) {
            encoder.writeOutbound(f);
        }
        EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
        List<Frame> decoded = new ArrayList<>();
        ByteBuf buf;
        while ((buf = encoder.readOutbound()) != null) {
            decoded.addAll(feed(decoder, buf));
        }
        assertThat(decoder.finish()).as("nothing left over").isFalse();
        return decoded;
    }

    private static void assertFramesEqual(List<Frame> actual, List<Frame> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            Frame e = expected.get(i);
            Frame a = actual.get(i);
            assertThat(a.type()).as("type of frame %d", i).isEqualTo(e.type());
            assertThat(a).as("frame %d", i).isInstanceOf(e.getClass());
            if (e instanceof DataFrame) {
                DataFrame ed = (DataFrame) e;
                DataFrame ad = (DataFrame) a;
                assertThat(ad.streamId).as("stream of frame %d", i).isEqualTo(ed.streamId);
                assertThat(ad.flags).as("flags of frame %d", i).isEqualTo(ed.flags);
                assertThat(ad.offset).as("offset of frame %d", i).isEqualTo(ed.offset);
                assertThat(ByteBufUtil.getBytes(ad.payload)).as("payload of frame %d", i)
                        .isEqualTo(ByteBufUtil.getBytes(ed.payload));
            } else {
                assertThat(a).as("frame %d", i).usingRecursiveComparison().isEqualTo(e);
            }
        }
    }

    private static final class EncodedStream {
        final byte[] bytes;
        /** Byte count at which each frame (not the preface) is complete. */
        final List<Integer> frameEnds;

        EncodedStream(byte[] bytes, List<Integer> frameEnds) {
            this.bytes = bytes;
            this.frameEnds = frameEnds;
        }
    }

    /** Preface and frames through a FrameEncoder channel, collected into one array (all buffers released). */
    private EncodedStream encode(List<Frame> frames) {
        EmbeddedChannel encoder = encoderChannel();
        ByteBuf all = alloc.buffer();
        List<Integer> ends = new ArrayList<>();
        try {
            encoder.writeOutbound(FrameEncoder.PREFACE);
            drainOutboundInto(encoder, all);
            for (Frame f : frames) {
                encoder.writeOutbound(f);
                drainOutboundInto(encoder, all);
                ends.add(all.readableBytes());
            }
            return new EncodedStream(ByteBufUtil.getBytes(all), ends);
        } finally {
            all.release();
        }
    }

    private ByteBuf encodeWithoutPreface(Frame... frames) {
        EmbeddedChannel encoder = encoderChannel();
        ByteBuf all = alloc.buffer();
        for (Frame f : frames) {
            encoder.writeOutbound(f);
        }
        drainOutboundInto(encoder, all);
        return all;
    }

    private static void drainOutboundInto(EmbeddedChannel encoder, ByteBuf target) {
        ByteBuf buf;
        while ((buf = encoder.readOutbound()) != null) {
            target.writeBytes(buf);
            buf.release();
        }
    }

    /** Writes {@code input} into the decoder and returns what it yielded (released after the test). */
    private List<Frame> feed(EmbeddedChannel decoder, ByteBuf input) {
        decoder.writeInbound(input);
        return drain(decoder);
    }

    private List<Frame> drain(EmbeddedChannel decoder) {
        List<Frame> frames = new ArrayList<>();
        Object msg;
        while ((msg = decoder.readInbound()) != null) {
            toRelease.add(msg);
            assertThat(msg).isInstanceOf(Frame.class);
            frames.add((Frame) msg);
        }
        return frames;
    }

    /** Writes {@code input}, which must make the decoder fail, and returns the failure. */
    private FrameException expectFailure(EmbeddedChannel decoder, ByteBuf input) {
        Throwable thrown = catchThrowable(() -> decoder.writeInbound(input));
        assertThat(thrown).isInstanceOf(FrameException.class);
        if (decoder.inboundMessages().isEmpty()) { // else a DATA frame's payload may still share the input
            assertThat(input.refCnt()).as("input released").isZero();
        }
        return (FrameException) thrown;
    }

    /** Preface then one frame with the given header and payload; the decoder must fail on it. */
    private FrameException expectFrameFailure(int type, int flags, int streamId, int length, Consumer<ByteBuf> body) {
        EmbeddedChannel decoder = decoderChannel(MAX_CHUNK);
        FrameException e = expectFailure(decoder, raw(b -> {
            writePreface(b);
            header(b, type, flags, streamId, length);
            body.accept(b);
        }));
        assertThat(drain(decoder)).isEmpty();
        return e;
    }

    /** A HELLO whose fixed part is valid, followed by {@code tail} (middleware count onwards). */
    private FrameException expectHelloFailure(Consumer<ByteBuf> tail) {
        ByteBuf payload = alloc.buffer();
        payload.writeBytes(sessionId(8)).writeInt(1).writeInt(MAX_CHUNK).writeInt(256 * 1024).writeInt(1 << 26);
        tail.accept(payload);
        try {
            return expectFrameFailure(FrameType.HELLO, Frame.FLAG_HELLO_NEW_SESSION, 0, payload.readableBytes(),
                    b -> b.writeBytes(payload));
        } finally {
            payload.release();
        }
    }

    private EmbeddedChannel encoderChannel() {
        return channel(FrameEncoder.INSTANCE);
    }

    private EmbeddedChannel decoderChannel(int maxChunk) {
        return channel(new FrameDecoder(maxChunk));
    }

    private EmbeddedChannel channel(ChannelHandler handler) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(handler);
        channels.add(ch);
        return ch;
    }

    private DataFrame data(int streamId, int flags, long offset, byte[] payload) {
        return new DataFrame(streamId, flags, offset, buffer(payload));
    }

    private ByteBuf buffer(byte[] bytes) {
        return alloc.buffer(bytes.length).writeBytes(bytes);
    }

    private ByteBuf raw(Consumer<ByteBuf> writer) {
        ByteBuf b = alloc.buffer();
        writer.accept(b);
        return b;
    }

    private static void writePreface(ByteBuf b) {
        b.writeInt(Wire.MAGIC).writeShort(Wire.VERSION).writeShort(0);
    }

    private static void header(ByteBuf b, int type, int flags, int streamId, int length) {
        b.writeByte(type).writeByte(flags).writeInt(streamId).writeInt(length);
    }

    private static byte[] sessionId(int seed) {
        return randomBytes(1000 + seed, HelloFrame.SESSION_ID_LENGTH);
    }

    private static byte[] randomBytes(long seed, int n) {
        return randomBytes(new SplittableRandom(seed), n);
    }

    private static byte[] randomBytes(SplittableRandom random, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) random.nextInt(256);
        }
        return b;
    }

    /**
     * Unpooled allocator that remembers every buffer it hands out (unpooled buffers are never recycled, so their
     * refCnt stays meaningful after release). Buffers are wrapped for Netty's leak detector as usual.
     */
    static final class TrackingAllocator extends AbstractByteBufAllocator {
        private final List<ByteBuf> allocated = new ArrayList<>();
        private int largestRequest;

        TrackingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity), initialCapacity);
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity), initialCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        private ByteBuf track(ByteBuf buf, int initialCapacity) {
            allocated.add(buf);
            largestRequest = Math.max(largestRequest, initialCapacity);
            return toLeakAwareBuffer(buf);
        }

        int largestRequest() {
            return largestRequest;
        }

        void assertAllReleased() {
            List<ByteBuf> live = allocated.stream().filter(b -> b.refCnt() != 0).toList();
            assertThat(live).as("buffers not released (of %d allocated)", allocated.size()).isEmpty();
            allocated.clear();
            largestRequest = 0;
        }
    }
}
