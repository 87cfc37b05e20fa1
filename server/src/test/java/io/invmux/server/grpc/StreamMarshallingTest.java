package io.invmux.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The stream calls' own marshalling: what goes on the wire must be exactly what protobuf would write and read. */
class StreamMarshallingTest {
    private static final class Known extends ByteArrayInputStream implements KnownLength {
        Known(byte[] bytes) {
            super(bytes);
        }
    }

    @SuppressWarnings("unchecked")
    private static MethodDescriptor<Object, Object> method(String name) {
        return (MethodDescriptor<Object, Object>) StreamServiceImpl.bind(null).getMethod(name).getMethodDescriptor();
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new SplittableRandom(n).nextBytes(b);
        return b;
    }

    @Test
    void requestsParseAsProtobufDoes() {
        MethodDescriptor<Object, Object> open = method(StreamServiceGrpc.getOpenStreamMethod().getFullMethodName());
        OpenStreamRequest data = OpenStreamRequest.newBuilder().setData(ByteString.copyFrom(random(70_000))).build();
        OpenStreamRequest first = OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder().setPeer("b")
                .setService("echo").putMetadata("k", "v")).build();
        assertThat(open.parseRequest(new Known(data.toByteArray()))).isEqualTo(data);
        assertThat(open.parseRequest(new Known(first.toByteArray()))).isEqualTo(first);
        assertThat(open.parseRequest(new Known(new byte[0]))).isEqualTo(OpenStreamRequest.getDefaultInstance());
    }

    @Test
    void aMalformedRequestIsAnInternalErrorNamingTheCause() {
        MethodDescriptor<Object, Object> open = method(StreamServiceGrpc.getOpenStreamMethod().getFullMethodName());
        byte[] whole = OpenStreamRequest.newBuilder().setData(ByteString.copyFrom(random(100))).build().toByteArray();
        byte[] truncated = java.util.Arrays.copyOf(whole, 50);
        assertThatThrownBy(() -> open.parseRequest(new Known(truncated)))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
                    assertThat(e.getStatus().getDescription()).contains("Invalid protobuf byte sequence");
                });
    }

    /**
     * A message as gRPC's Netty transport hands it to a marshaller: gRPC's own buffer stream (detachable, with byte
     * buffer views) over direct buffers cut at {@code cuts}; {@code closed} counts the pieces given back.
     */
    private static InputStream grpcMessage(byte[] message, java.util.concurrent.atomic.AtomicInteger closed,
            int... cuts) {
        io.grpc.internal.CompositeReadableBuffer composite = new io.grpc.internal.CompositeReadableBuffer();
        int at = 0;
        int[] ends = java.util.Arrays.copyOf(cuts, cuts.length + 1);
        ends[cuts.length] = message.length;
        for (int end : ends) {
            java.nio.ByteBuffer piece = java.nio.ByteBuffer.allocateDirect(end - at);
            piece.put(message, at, end - at).flip();
            composite.addBuffer(new io.grpc.internal.ForwardingReadableBuffer(io.grpc.internal.ReadableBuffers
                    .wrap(piece)) {
                @Override
                public void close() {
                    closed.incrementAndGet();
                    super.close();
                }
            });
            at = end;
        }
        return io.grpc.internal.ReadableBuffers.openStream(composite, true);
    }

    @Test
    void dataMessagesComeOutAsViewsOfGrpcsOwnBuffersGivenBackOnRelease() {
        for (String name : new String[] {StreamServiceGrpc.getOpenStreamMethod().getFullMethodName(),
                StreamServiceGrpc.getAcceptStreamMethod().getFullMethodName()}) {
            MethodDescriptor<Object, Object> m = method(name);
            byte[] payload = random(70_000);
            byte[] message = OpenStreamRequest.newBuilder().setData(ByteString.copyFrom(payload)).build().toByteArray();
            // 70,000 needs a 3-byte length: the data starts at byte 4; cut right after it, mid-data, and at 16 KiB
            // frame boundaries as HTTP/2 would (every piece at least 1 KiB, so gRPC keeps each as it came).
            java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
            Object parsed = m.parseRequest(grpcMessage(message, closed, 4 + 1024, 16_384, 32_768, 40_000, 49_152));
            assertThat(parsed).isInstanceOf(StreamBytes.class);
            ByteBuf data = ((StreamBytes) parsed).data;
            try {
                assertThat(io.netty.buffer.ByteBufUtil.getBytes(data)).as(name).isEqualTo(payload);
                assertThat(data.isDirect()).as("views of the direct pieces, not a copy").isTrue();
                assertThat(closed.get()).as("gRPC's buffers are held while the bytes are").isZero();
            } finally {
                data.release();
            }
            assertThat(closed.get()).as("every piece given back").isEqualTo(6);
        }
    }

    @Test
    void piecesGrpcCopiedIntoAnArrayAreCopiedAndTheOthersStayViews() {
        MethodDescriptor<Object, Object> m = method(StreamServiceGrpc.getOpenStreamMethod().getFullMethodName());
        byte[] payload = random(70_000);
        byte[] message = OpenStreamRequest.newBuilder().setData(ByteString.copyFrom(payload)).build().toByteArray();
        // Pieces under 1 KiB (inside the header, right after it, one byte mid-data) are merged by gRPC into heap
        // arrays as they arrive; the 16 KiB pieces are not.
        java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
        Object parsed = m.parseRequest(grpcMessage(message, closed, 2, 4, 16_384, 32_768, 32_769, 49_152));
        assertThat(parsed).isInstanceOf(StreamBytes.class);
        ByteBuf data = ((StreamBytes) parsed).data;
        try {
            assertThat(io.netty.buffer.ByteBufUtil.getBytes(data)).isEqualTo(payload);
            io.netty.buffer.CompositeByteBuf pieces = (io.netty.buffer.CompositeByteBuf) data;
            long viewed = java.util.stream.IntStream.range(0, pieces.numComponents())
                    .filter(i -> pieces.internalComponent(i).isDirect())
                    .mapToLong(i -> pieces.internalComponent(i).readableBytes()).sum();
            assertThat(viewed).as("bytes seen through views of gRPC's direct pieces").isGreaterThan(payload.length / 2);
        } finally {
            data.release();
        }
        assertThat(closed.get()).as("every piece given back").isEqualTo(7);
    }

    @Test
    void anEmptyDataMessageIsEmptyBytes() {
        MethodDescriptor<Object, Object> open = method(StreamServiceGrpc.getOpenStreamMethod().getFullMethodName());
        byte[] message = OpenStreamRequest.newBuilder().setData(ByteString.EMPTY).build().toByteArray();
        java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
        Object parsed = open.parseRequest(grpcMessage(message, closed));
        assertThat(parsed).isInstanceOf(StreamBytes.class);
        assertThat(((StreamBytes) parsed).data.readableBytes()).isZero();
        ((StreamBytes) parsed).data.release();
        assertThat(closed.get()).isEqualTo(1);
    }

    @Test
    void otherMessagesFromGrpcsBuffersAreParsedByProtobufAndTheBuffersGivenBack() {
        MethodDescriptor<Object, Object> open = method(StreamServiceGrpc.getOpenStreamMethod().getFullMethodName());
        OpenStreamRequest first = OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder().setPeer("b")
                .setService("echo").putMetadata("k", "v")).build();
        java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
        assertThat(open.parseRequest(grpcMessage(first.toByteArray(), closed, 3))).isEqualTo(first);
        assertThat(closed.get()).isEqualTo(2);

        // data followed by a field this version does not know: not "data only", so protobuf parses it (and keeps
        // the unknown field) rather than the fast path dropping it.
        OpenStreamRequest withUnknown = OpenStreamRequest.newBuilder().setData(ByteString.copyFrom(random(300)))
                .setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder().addField(15,
                        com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build())
                .build();
        closed.set(0);
        assertThat(open.parseRequest(grpcMessage(withUnknown.toByteArray(), closed, 100))).isEqualTo(withUnknown);
        assertThat(closed.get()).isEqualTo(2);

        byte[] whole = OpenStreamRequest.newBuilder().setData(ByteString.copyFrom(random(100))).build().toByteArray();
        closed.set(0);
        assertThatThrownBy(() -> open.parseRequest(grpcMessage(java.util.Arrays.copyOf(whole, 50), closed, 20)))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL));
        assertThat(closed.get()).as("a malformed message's buffers are given back too").isEqualTo(2);
    }

    /** A transport that reads the response stream instead of draining it gets the same bytes. */
    @Test
    void streamBytesReadAsAStreamAreTheSameBytes() throws Exception {
        MethodDescriptor<Object, Object> m = method(StreamServiceGrpc.getAcceptStreamMethod().getFullMethodName());
        for (int size : new int[] {0, 1, 127, 128, 70_000}) {
            byte[] payload = random(size);
            ByteBuf buf = Unpooled.directBuffer(size + 3).writeZero(3).writeBytes(payload).skipBytes(3);
            try {
                byte[] expected = AcceptStreamResponse.newBuilder().setData(ByteString.copyFrom(payload)).build()
                        .toByteArray();
                assertThat(m.streamResponse(new StreamBytes(buf)).readAllBytes()).as("%d bytes", size)
                        .isEqualTo(expected);
                InputStream oneByOne = m.streamResponse(new StreamBytes(buf));
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                out.write(oneByOne.read());
                out.write(oneByOne.read());
                assertThat(((io.grpc.Drainable) oneByOne).drainTo(out)).isEqualTo(expected.length - 2);
                assertThat(oneByOne.read()).isEqualTo(-1);
                assertThat(out.toByteArray()).as("read two bytes, then drained").isEqualTo(expected);
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void streamBytesAreWrittenAsTheDataResponseProtobufWouldWrite() throws Exception {
        for (String name : new String[] {StreamServiceGrpc.getOpenStreamMethod().getFullMethodName(),
                StreamServiceGrpc.getAcceptStreamMethod().getFullMethodName()}) {
            MethodDescriptor<Object, Object> m = method(name);
            for (int size : new int[] {0, 1, 127, 128, 32 * 1024, 256 * 1024}) {
                byte[] payload = random(size);
                ByteBuf buf = Unpooled.directBuffer(size + 7).writeZero(7).writeBytes(payload).skipBytes(7);
                try {
                    InputStream encoded = m.streamResponse(new StreamBytes(buf));
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    ((io.grpc.Drainable) encoded).drainTo(out);
                    byte[] expected = name.endsWith("OpenStream")
                            ? OpenStreamResponse.newBuilder().setData(ByteString.copyFrom(payload)).build().toByteArray()
                            : AcceptStreamResponse.newBuilder().setData(ByteString.copyFrom(payload)).build()
                                    .toByteArray();
                    assertThat(out.toByteArray()).as("%s, %d bytes", name, size).isEqualTo(expected);
                    assertThat(buf.readableBytes()).as("the buffer is read, not consumed").isEqualTo(size);
                } finally {
                    buf.release();
                }
            }
        }
    }
}
