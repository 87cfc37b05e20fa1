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
