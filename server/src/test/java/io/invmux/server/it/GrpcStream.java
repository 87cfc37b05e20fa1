package io.invmux.server.it;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.invmux.proto.v1.AcceptStreamRequest;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.AcceptTarget;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamInfo;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A blocking byte stream over one OpenStream or AcceptStream call, with gRPC flow control honoured both ways:
 * writes wait for {@code isReady()}, and the next message is requested only when the previous one was read. A
 * test application, as a real one would use the API.
 */
final class GrpcStream<Req, Resp> {
    private static final ByteString EOF = ByteString.copyFromUtf8("<eof>");

    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final Object readyLock = new Object();
    private final Function<Resp, ByteString> data;
    private final Function<Resp, StreamInfo> info;
    private final Function<ByteString, Req> dataMessage;
    private volatile ClientCallStreamObserver<Req> call;
    volatile StreamInfo streamInfo;
    /** The status the call ended with (OK when it completed), whatever has been read so far. */
    final CompletableFuture<Status> end = new CompletableFuture<>();
    private ByteString current = ByteString.EMPTY;
    private int position;

    private GrpcStream(Function<Resp, ByteString> data, Function<Resp, StreamInfo> info,
            Function<ByteString, Req> dataMessage) {
        // data() answers EOF for the eof message (neither info nor data)
        this.data = data;
        this.info = info;
        this.dataMessage = dataMessage;
    }

    static GrpcStream<OpenStreamRequest, OpenStreamResponse> open(ManagedChannel ch, String peer, String service) {
        return open(ch, StreamTarget.newBuilder().setPeer(peer).setService(service).build());
    }

    static GrpcStream<OpenStreamRequest, OpenStreamResponse> open(ManagedChannel ch, StreamTarget target) {
        GrpcStream<OpenStreamRequest, OpenStreamResponse> s = new GrpcStream<>(r -> r.hasData() ? r.getData() : EOF,
                r -> r.hasOpened() ? r.getOpened() : null, d -> OpenStreamRequest.newBuilder().setData(d).build());
        StreamServiceGrpc.newStub(ch).openStream(s.observer());
        s.call.onNext(OpenStreamRequest.newBuilder().setOpen(target).build());
        return s;
    }

    static GrpcStream<AcceptStreamRequest, AcceptStreamResponse> accept(ManagedChannel ch, String service) {
        GrpcStream<AcceptStreamRequest, AcceptStreamResponse> s = new GrpcStream<>(
                r -> r.hasData() ? r.getData() : EOF, r -> r.hasAccepted() ? r.getAccepted() : null,
                d -> AcceptStreamRequest.newBuilder().setData(d).build());
        StreamServiceGrpc.newStub(ch).acceptStream(s.observer());
        s.call.onNext(AcceptStreamRequest.newBuilder().setAccept(AcceptTarget.newBuilder().setService(service))
                .build());
        return s;
    }

    /** The two ends of one stream, each past its first message (opened / accepted). */
    record Joined(GrpcStream<OpenStreamRequest, OpenStreamResponse> opener,
            GrpcStream<AcceptStreamRequest, AcceptStreamResponse> acceptor) {
    }

    /** Accepts {@code service} on {@code acceptOn}, opens a stream to it from {@code openFrom}, waits for both. */
    static Joined join(ManagedChannel openFrom, ManagedChannel acceptOn, String peer, String service)
            throws IOException {
        var acceptor = accept(acceptOn, service);
        var opener = open(openFrom, peer, service);
        opener.awaitInfo(30);
        acceptor.awaitInfo(30);
        return new Joined(opener, acceptor);
    }

    private ClientResponseObserver<Req, Resp> observer() {
        return new ClientResponseObserver<>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<Req> requestStream) {
                call = requestStream;
                requestStream.disableAutoRequestWithInitial(1);
                requestStream.setOnReadyHandler(() -> {
                    synchronized (readyLock) {
                        readyLock.notifyAll();
                    }
                });
            }

            @Override
            public void onNext(Resp value) {
                StreamInfo i = info.apply(value);
                if (i != null) {
                    streamInfo = i;
                    call.request(1);
                } else {
                    inbox.add(data.apply(value));
                }
            }

            @Override
            public void onError(Throwable t) {
                inbox.add(t);
                end.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                inbox.add(EOF);
                end.complete(Status.OK);
            }
        };
    }

    /**
     * Sends {@code reset} (the call's reset message), then half-closes, in that order on the wire: what a Node
     * client's abort does, its http2 ending the request stream before the cancel.
     */
    void resetThenHalfClose(Req reset) {
        synchronized (readyLock) {
            call.onNext(reset);
            call.onCompleted();
        }
    }

    /** Waits for the first response (opened / accepted) or a failure. */
    StreamInfo awaitInfo(long seconds) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (streamInfo == null) {
            Object head = inbox.peek();
            if (head instanceof Throwable) {
                throw new IOException((Throwable) head);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("no stream info within " + seconds + " s");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new InterruptedIOException();
            }
        }
        return streamInfo;
    }

    /** The status the call failed with (waits for the end of the call). */
    Status awaitFailure(long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            Object o = inbox.poll(50, TimeUnit.MILLISECONDS);
            if (o instanceof Throwable) {
                return Status.fromThrowable((Throwable) o);
            }
            if (o == EOF) {
                return Status.OK;
            }
        }
        throw new AssertionError("the call did not end within " + seconds + " s");
    }

    /** The exception the call failed with, its trailers included (waits for the end of the call). */
    Throwable awaitError(long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            Object o = inbox.poll(50, TimeUnit.MILLISECONDS);
            if (o instanceof Throwable) {
                return (Throwable) o;
            }
            if (o == EOF) {
                throw new AssertionError("the call ended without an error");
            }
        }
        throw new AssertionError("the call did not end within " + seconds + " s");
    }

    final OutputStream out = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int n = Math.min(len, 64 * 1024);
                synchronized (readyLock) {
                    while (!call.isReady()) {
                        if (inbox.peek() instanceof Throwable) {
                            throw new IOException((Throwable) inbox.peek());
                        }
                        try {
                            readyLock.wait(50);
                        } catch (InterruptedException e) {
                            throw new InterruptedIOException();
                        }
                    }
                    call.onNext(dataMessage.apply(ByteString.copyFrom(b, off, n)));
                }
                off += n;
                len -= n;
            }
        }

        @Override
        public void close() {
            call.onCompleted();
        }
    };

    final InputStream in = new InputStream() {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                // As InputStream says; readNBytes asks for 0 bytes once its buffer is full, and waiting for the
                // next message then would hang a reader that has all it wanted.
                return 0;
            }
            while (position >= current.size()) {
                if (current == EOF) {
                    return -1;
                }
                Object o;
                try {
                    o = inbox.take();
                } catch (InterruptedException e) {
                    throw new InterruptedIOException();
                }
                if (o instanceof Throwable) {
                    inbox.add(o);
                    throw new IOException((Throwable) o);
                }
                current = (ByteString) o;
                position = 0;
                if (current == EOF) {
                    inbox.add(EOF);
                    return -1;
                }
                call.request(1);
            }
            int n = Math.min(len, current.size() - position);
            current.copyTo(b, position, off, n);
            position += n;
            return n;
        }
    };
}
