package io.invmux.server.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Stream bytes on their way out of a stream call as a data response, written to gRPC straight from the stream's
 * buffer.
 *
 * <p>Why: protobuf copies a direct buffer when it wraps it in a ByteString, and gRPC copies the message again when
 * it serializes it; at gigabit rates that first copy (and its garbage) is a measurable share of the sidecar's
 * CPU. A {@code StreamBytes} is handed to the response observer instead of an {@code OpenStreamResponse} /
 * {@code AcceptStreamResponse}; {@link #marshalling} makes those methods' response marshaller write it as the
 * same bytes that message would be ({@code data} is field 2 of both), so clients see no difference.
 *
 * <p>Ownership: the buffer stays the caller's. gRPC drains a message into its own buffers within
 * {@code onNext}, so the caller may release the buffer as soon as {@code onNext} returns.
 */
final class StreamBytes {
    /** Field 2, wire type 2 (length-delimited): {@code bytes data = 2} of both stream response messages. */
    private static final int DATA_TAG = (2 << 3) | 2;

    final ByteBuf data;

    StreamBytes(ByteBuf data) {
        this.data = data;
    }

    /** The encoded message: tag, length, bytes. */
    private final class Encoded extends InputStream implements Drainable, KnownLength {
        private final int length = data.readableBytes();
        private boolean drained;

        @Override
        public int drainTo(OutputStream target) throws IOException {
            if (drained) {
                return 0;
            }
            drained = true;
            byte[] head = new byte[1 + CodedOutputStream.computeUInt32SizeNoTag(length)];
            head[0] = DATA_TAG;
            CodedOutputStream c = CodedOutputStream.newInstance(head, 1, head.length - 1);
            c.writeUInt32NoTag(length);
            target.write(head);
            data.getBytes(data.readerIndex(), target, length);
            return head.length + length;
        }

        @Override
        public int available() {
            return drained ? 0 : 1 + CodedOutputStream.computeUInt32SizeNoTag(length) + length;
        }

        @Override
        public int read() {
            throw new UnsupportedOperationException("drained with drainTo, never read");
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
     * Parses request messages so that their {@code bytes} fields share the message's buffer: gRPC's protobuf
     * marshaller reads a message into a reused buffer and then copies every bytes field out of it, one more copy
     * of every client byte on its way to the stream. Here each message gets a buffer of its own (one copy out of
     * the transport, as before) and the {@code data} field is a view of it.
     */
    private static final class AliasingMarshaller<M extends Message> implements MethodDescriptor.Marshaller<M> {
        private final MethodDescriptor.Marshaller<M> proto;
        private final com.google.protobuf.Parser<M> parser;

        @SuppressWarnings("unchecked")
        AliasingMarshaller(M defaultInstance) {
            this.proto = ProtoUtils.marshaller(defaultInstance);
            this.parser = (com.google.protobuf.Parser<M>) defaultInstance.getParserForType();
        }

        @Override
        public InputStream stream(M value) {
            return proto.stream(value);
        }

        @Override
        public M parse(InputStream stream) {
            if (!(stream instanceof KnownLength)) {
                return proto.parse(stream);
            }
            try {
                byte[] message = new byte[stream.available()]; // KnownLength: the whole message
                int n = stream.readNBytes(message, 0, message.length);
                if (n != message.length || stream.read() != -1) {
                    throw new IOException("message length " + message.length + " announced, " + n + " read");
                }
                // Aliasing takes effect only on input protobuf knows to be immutable: this buffer is not reused,
                // and a ByteString view of it says so.
                com.google.protobuf.CodedInputStream in = com.google.protobuf.UnsafeByteOperations
                        .unsafeWrap(message).newCodedInput();
                in.enableAliasing(true);
                M parsed = parser.parseFrom(in);
                in.checkLastTagWas(0);
                return parsed;
            } catch (IOException e) {
                throw io.grpc.Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e)
                        .asRuntimeException();
            }
        }
    }

    /**
     * {@code service} with the response marshaller of the named bidi-streaming methods replaced by one that also
     * writes {@link StreamBytes}, and their request marshaller by an {@link AliasingMarshaller}; both take the
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
                        new AliasingMarshaller<>(prototype(md.getRequestMarshaller())),
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
