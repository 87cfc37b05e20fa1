package io.invmux.server.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.grpc.Detachable;
import io.grpc.Drainable;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * The bytes of one data message of a stream call ({@code data}, field 2 of all four stream messages), carried
 * without protobuf's copies, both ways.
 *
 * <p>Out (stream → client): a {@code StreamBytes} is handed to the response observer instead of an
 * {@code OpenStreamResponse} / {@code AcceptStreamResponse}; {@link #marshalling} makes those methods' response
 * marshaller write it as the same bytes that message would be, straight from the stream's buffer into gRPC's, so
 * clients see no difference. Why: protobuf copies a direct buffer when it wraps it in a ByteString, and gRPC copies
 * the message again when it serializes it; at gigabit rates that first copy (and its garbage) is a measurable share
 * of the sidecar's CPU. Ownership: the buffer stays the caller's; gRPC drains a message into its own buffers
 * within {@code onNext}, so the caller may release it as soon as {@code onNext} returns.
 *
 * <p>In (client → stream): the request marshaller turns a message holding only {@code data} into a
 * {@code StreamBytes} over gRPC's own receive buffers (see {@link RequestMarshaller}). Ownership: the handler that
 * receives it owns the buffer and must hand it on ({@link io.invmux.Stream#write}) or release it.
 */
final class StreamBytes {
    /** Field 2, wire type 2 (length-delimited): {@code bytes data = 2} of both stream response messages. */
    private static final int DATA_TAG = (2 << 3) | 2;

    final ByteBuf data;

    StreamBytes(ByteBuf data) {
        this.data = data;
    }

    /**
     * The encoded message: tag, length, bytes. gRPC drains it ({@link Drainable}) into its buffers; it can also be
     * read like any stream. Either way it reads {@code data} in place, within the {@code onNext} that sent it.
     */
    private final class Encoded extends InputStream implements Drainable, KnownLength {
        private final byte[] head;
        private final int length = data.readableBytes();
        /** Bytes of head + data already read or drained. */
        private int position;

        Encoded() {
            head = new byte[1 + CodedOutputStream.computeUInt32SizeNoTag(length)];
            head[0] = DATA_TAG;
            CodedOutputStream c = CodedOutputStream.newInstance(head, 1, head.length - 1);
            try {
                c.writeUInt32NoTag(length);
            } catch (IOException e) {
                throw new IllegalStateException("the header was sized for its length", e);
            }
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            int left = available();
            if (position < head.length) {
                target.write(head, position, head.length - position);
            }
            int dataAt = Math.max(0, position - head.length);
            data.getBytes(data.readerIndex() + dataAt, target, length - dataAt);
            position = head.length + length;
            return left;
        }

        @Override
        public int available() {
            return head.length + length - position;
        }

        @Override
        public int read() {
            if (available() == 0) {
                return -1;
            }
            int at = position++;
            return at < head.length ? head[at] & 0xff : data.getUnsignedByte(data.readerIndex() + at - head.length);
        }

        @Override
        public int read(byte[] into, int offset, int len) {
            java.util.Objects.checkFromIndexSize(offset, len, into.length);
            if (len == 0) {
                return 0;
            }
            if (available() == 0) {
                return -1;
            }
            int n = Math.min(len, available());
            int done = 0;
            if (position < head.length) {
                int k = Math.min(n, head.length - position);
                System.arraycopy(head, position, into, offset, k);
                done = k;
            }
            if (done < n) {
                data.getBytes(data.readerIndex() + position + done - head.length, into, offset + done, n - done);
            }
            position += n;
            return n;
        }
    }

    /** Marshals {@code M} as protobuf does, and a {@link StreamBytes} as an {@code M} holding only its data. */
    private static final class Marshaller<M extends Message> implements MethodDescriptor.Marshaller<Object> {
        private final MethodDescriptor.Marshaller<M> proto;

        Marshaller(M defaultInstance) {
            this.proto = ProtoUtils.marshaller(defaultInstance);
        }

        @Override
        @SuppressWarnings("unchecked")
        public InputStream stream(Object value) {
            return value instanceof StreamBytes ? ((StreamBytes) value).new Encoded() : proto.stream((M) value);
        }

        @Override
        public Object parse(InputStream stream) {
            return proto.parse(stream);
        }
    }

    /**
     * Parses request messages; one that holds nothing but {@code data} (every data message a client sends) comes
     * out as a {@link StreamBytes} whose buffer <em>is</em> gRPC's receive buffers, detached from the call: no copy
     * and no garbage on the way from the client's socket to the data plane's. Any other message (the first one, or
     * a client that writes fields we do not expect) is parsed by protobuf into {@code M}, with its {@code bytes}
     * fields sharing one buffer read for the message (gRPC's own marshaller copies each of them out of a reused
     * buffer once more).
     *
     * <p>Ownership: a returned {@link StreamBytes} owns its buffer; the call's handler must hand it on or release
     * it. Releasing it gives gRPC's buffers back.
     */
    private static final class RequestMarshaller<M extends Message> implements MethodDescriptor.Marshaller<Object> {
        private final MethodDescriptor.Marshaller<M> proto;
        private final com.google.protobuf.Parser<M> parser;

        @SuppressWarnings("unchecked")
        RequestMarshaller(M defaultInstance) {
            this.proto = ProtoUtils.marshaller(defaultInstance);
            this.parser = (com.google.protobuf.Parser<M>) defaultInstance.getParserForType();
        }

        @Override
        @SuppressWarnings("unchecked")
        public InputStream stream(Object value) {
            return proto.stream((M) value);
        }

        @Override
        public Object parse(InputStream stream) {
            if (!(stream instanceof KnownLength)) {
                return proto.parse(stream);
            }
            // Not byteBufferSupported(): it is false as soon as one piece is a heap copy (gRPC copies pieces under
            // 1 KiB into one array), and the message's other pieces are still worth viewing; detachedView copies
            // just the pieces that have no buffer.
            boolean detachable = stream instanceof Detachable && stream instanceof HasByteBuffer
                    && stream.markSupported();
            // Detached, the message's buffers stay valid after gRPC moves on; closing the stream releases them.
            InputStream in = detachable ? ((Detachable) stream).detach() : stream;
            boolean handedOver = false;
            try {
                int total = in.available(); // KnownLength: the whole message
                if (detachable) {
                    in.mark(total);
                    int header = dataOnlyHeaderLength(in, total);
                    if (header > 0) {
                        StreamBytes bytes = new StreamBytes(detachedView(in, total - header));
                        handedOver = true;
                        return bytes;
                    }
                    in.reset();
                }
                return parseAliasing(in, total);
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e)
                        .asRuntimeException();
            } finally {
                if (detachable && !handedOver) {
                    closeQuietly(in);
                }
            }
        }

        /** Reads the message into a buffer of its own and parses it with bytes fields as views of that buffer. */
        private M parseAliasing(InputStream in, int total) throws IOException {
            byte[] message = new byte[total];
            int n = in.readNBytes(message, 0, message.length);
            if (n != message.length || in.read() != -1) {
                throw new IOException("message length " + message.length + " announced, " + n + " read");
            }
            // Aliasing takes effect only on input protobuf knows to be immutable: this buffer is not reused, and a
            // ByteString view of it says so.
            com.google.protobuf.CodedInputStream coded = com.google.protobuf.UnsafeByteOperations.unsafeWrap(message)
                    .newCodedInput();
            coded.enableAliasing(true);
            M parsed = parser.parseFrom(coded);
            coded.checkLastTagWas(0);
            return parsed;
        }
    }

    /**
     * If the message of {@code total} bytes is exactly one {@code data} field (tag, varint length, the bytes), reads
     * its tag and length and returns how many bytes they took; otherwise returns 0 (the caller resets the stream).
     */
    static int dataOnlyHeaderLength(InputStream in, int total) throws IOException {
        if (total < 2 || in.read() != DATA_TAG) {
            return 0;
        }
        long length = 0;
        int header = 1;
        for (int shift = 0; ; shift += 7) {
            int b = in.read();
            header++;
            if (b < 0 || shift > 28) {
                return 0;
            }
            length |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
        }
        return length == total - header ? header : 0;
    }

    /**
     * The next {@code length} bytes of a detached gRPC message stream as one buffer made of views of gRPC's own
     * buffers; releasing it closes the stream, which gives those buffers back.
     */
    private static ByteBuf detachedView(InputStream in, int length) throws IOException {
        DetachedMessage view = new DetachedMessage(in);
        boolean done = false;
        try {
            int left = length;
            while (left > 0) {
                ByteBuffer piece = currentPiece(in);
                if (piece != null && piece != HEAP_PIECE && !piece.hasRemaining()) {
                    // The stream's current buffer is used up; gRPC moves to the next one on the next read.
                    in.skip(0);
                    piece = currentPiece(in);
                }
                if (piece == HEAP_PIECE) {
                    // A piece gRPC copied into an array: copy its bytes (a piece under 1 KiB at most, unless
                    // several were merged) and look again.
                    byte[] copied = in.readNBytes(Math.min(left, HEAP_PIECE_COPY));
                    if (copied.length == 0) {
                        throw new IOException("message ended " + left + " bytes early");
                    }
                    view.addComponent(true, Unpooled.wrappedBuffer(copied));
                    left -= copied.length;
                    continue;
                }
                if (piece == null || !piece.hasRemaining()) {
                    // Not expected from gRPC's buffers; copy the rest rather than fail the call.
                    byte[] rest = in.readNBytes(left);
                    if (rest.length != left) {
                        throw new IOException("message ended " + (left - rest.length) + " bytes early");
                    }
                    view.addComponent(true, Unpooled.wrappedBuffer(rest));
                    break;
                }
                int n = Math.min(piece.remaining(), left);
                piece.limit(piece.position() + n);
                view.addComponent(true, Unpooled.wrappedBuffer(piece));
                if (in.skip(n) != n) {
                    throw new IOException("message shorter than its " + length + " announced bytes");
                }
                left -= n;
            }
            done = true;
            return view;
        } finally {
            if (!done) {
                view.release(); // closes the stream
            }
        }
    }

    /** Marks a current piece that has no buffer to view (a heap array gRPC made of small pieces). */
    private static final ByteBuffer HEAP_PIECE = ByteBuffer.allocate(0);
    /** How much of a heap piece is copied before the stream is asked again for a buffer to view. */
    private static final int HEAP_PIECE_COPY = 1024;

    /** The stream's current piece as a buffer, {@link #HEAP_PIECE} if it has none, null at the end. */
    private static ByteBuffer currentPiece(InputStream in) {
        try {
            return ((HasByteBuffer) in).getByteBuffer();
        } catch (UnsupportedOperationException noBuffer) {
            return HEAP_PIECE;
        }
    }

    /** A buffer over a detached gRPC message's buffers that closes the message when released. */
    private static final class DetachedMessage extends CompositeByteBuf {
        private final InputStream message;

        DetachedMessage(InputStream message) {
            super(UnpooledByteBufAllocator.DEFAULT, true, Integer.MAX_VALUE);
            this.message = message;
        }

        @Override
        protected void deallocate() {
            super.deallocate();
            closeQuietly(message);
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // gRPC's buffer streams do not throw on close
        }
    }

    /**
     * {@code service} with the response marshaller of the named bidi-streaming methods replaced by one that also
     * writes {@link StreamBytes}, and their request marshaller by a {@link RequestMarshaller}; both take the
     * message types from the methods' protobuf marshallers. Their handlers are unchanged: gRPC passes response
     * objects through untyped.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static ServerServiceDefinition marshalling(ServerServiceDefinition service, java.util.Set<String> methodNames) {
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        java.util.List<ServerMethodDefinition<?, ?>> methods = new java.util.ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            MethodDescriptor md = m.getMethodDescriptor();
            if (methodNames.contains(md.getFullMethodName())) {
                MethodDescriptor<Object, Object> replaced = md.toBuilder(
                        new RequestMarshaller<>(prototype(md.getRequestMarshaller())),
                        new Marshaller<>(prototype(md.getResponseMarshaller()))).build();
                m = ServerMethodDefinition.create(replaced, (ServerCallHandler) m.getServerCallHandler());
            }
            descriptor.addMethod(m.getMethodDescriptor());
            methods.add(m);
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(b::addMethod);
        return b.build();
    }

    private static Message prototype(MethodDescriptor.Marshaller<?> protobuf) {
        return (Message) ((MethodDescriptor.PrototypeMarshaller<?>) protobuf).getMessagePrototype();
    }
}
