package io.invmux.client;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.invmux.proto.v1.StreamInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One byte stream to a peer's application, carried by the sidecars over their bundle of links (one
 * {@code OpenStream} or {@code AcceptStream} call).
 * <ul>
 *   <li>{@link #outputStream()} sends bytes, in messages of at most {@value #MAX_WRITE_CHUNK} bytes; a write
 *       blocks while gRPC is not ready for more ({@code isReady()}), i.e. while the peer does not keep up.
 *       Closing it half-closes ({@link #closeWrite()}): the peer reads the end of stream, reading goes on.</li>
 *   <li>{@link #inputStream()} returns the peer's bytes and -1 once the peer half-closed. Messages are requested
 *       from the sidecar only as the application reads: one at a time, the next once the previous was taken.</li>
 *   <li>{@link #close()} releases the stream: gracefully when both directions ended, else by aborting it (the
 *       peer sees a reset).</li>
 * </ul>
 * Errors are {@link InvMuxException}s (IOExceptions) with the gRPC status code: UNAVAILABLE (peer or session
 * lost), CANCELLED (reset by the peer), RESOURCE_EXHAUSTED. One thread may read while another writes.
 */
public final class InvMuxStream implements AutoCloseable {
    /** Largest data message sent; longer writes are cut (the API takes at most 256 KiB). */
    public static final int MAX_WRITE_CHUNK = 64 * 1024;
    /** Data messages requested ahead of the reader. */
    static final int PREFETCH = 1;
    /** How long {@link #close()} lets a call whose both directions ended finish. */
    static final long CLOSE_GRACE_MILLIS = 5_000;

    private static final Object EOF = new Object();

    /** The call's side that sends; implemented by the generic observer below. */
    interface Sender {
        boolean isReady();

        void send(ByteString data);

        void halfClose();

        void cancel(String why);

        void request(int n);
    }

    private final CompletableFuture<InvMuxStream> opened = new CompletableFuture<>();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final BlockingQueue<Object> incoming = new LinkedBlockingQueue<>();
    private final Object writeLock = new Object();
    private final Object readLock = new Object();
    private final In in = new In();
    private final Out out = new Out();
    private volatile Sender sender;
    private volatile StreamInfo info;
    private volatile boolean peerEnded;
    private volatile boolean closedByApp;
    // guarded by writeLock
    private boolean halfClosed;
    private boolean callDone;
    // guarded by readLock
    private ByteString current;
    private int pos;
    private boolean eof;
    private IOException readError;

    InvMuxStream() {
    }

    /** Session, stream id, peer, service and the opener's metadata. */
    public StreamInfo info() {
        return info;
    }

    /** The peer's bytes; -1 after the peer half-closed. Closing it does nothing: close the stream. */
    public InputStream inputStream() {
        return in;
    }

    /** Bytes to the peer; closing it half-closes. Wrap it in a BufferedOutputStream for small writes. */
    public OutputStream outputStream() {
        return out;
    }

    /** Half-closes: the peer reads the end of stream after everything written before. Reading goes on. */
    public void closeWrite() {
        synchronized (writeLock) {
            if (halfClosed) {
                return;
            }
            halfClosed = true;
            if (!callDone && !closedByApp) {
                sender.halfClose();
            }
        }
    }

    /** Completes when the call has ended (normally: both directions ended and the sidecar took everything). */
    public CompletableFuture<Void> whenDone() {
        return done;
    }

    /**
     * Releases the stream. After {@link #closeWrite()} and the peer's end of stream it first lets the call finish
     * (at most 5 s), so that everything written reaches the sidecar; otherwise it aborts the stream like
     * {@link #abort()}. Idempotent.
     */
    @Override
    public void close() {
        boolean graceful;
        synchronized (writeLock) {
            graceful = halfClosed && peerEnded && !callDone && !closedByApp;
        }
        if (graceful) {
            try {
                done.get(CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // ended with an error or too slowly: abort below
            }
        }
        abort();
    }

    /** Ends the stream at once in both directions; the peer sees a reset (unless the call had ended). */
    public void abort() {
        synchronized (writeLock) {
            if (closedByApp) {
                return;
            }
            closedByApp = true;
            if (!callDone) {
                sender.cancel("stream closed by the application");
            }
            writeLock.notifyAll();
        }
        incoming.add(new InvMuxException(Status.CANCELLED.withDescription("stream closed by the application")));
    }

    @Override
    public String toString() {
        StreamInfo i = info;
        return i == null ? "InvMuxStream(opening)" : "InvMuxStream(" + i.getStreamId() + " of session "
                + i.getSessionId() + ", peer " + i.getPeer() + ", service " + i.getService() + ")";
    }

    // ------------------------------------------------------------------ plumbing

    CompletableFuture<InvMuxStream> opened() {
        return opened;
    }

    private void send(ByteString chunk) throws IOException {
        synchronized (writeLock) {
            while (true) {
                if (halfClosed) {
                    throw new IOException("write after closeWrite()");
                }
                if (closedByApp) {
                    throw new InvMuxException(Status.CANCELLED.withDescription("stream closed by the application"));
                }
                if (callDone) {
                    throw endedError();
                }
                if (sender.isReady()) {
                    break;
                }
                try {
                    writeLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting to write");
                }
            }
            sender.send(chunk);
        }
    }

    private InvMuxException endedError() {
        if (done.isCompletedExceptionally()) {
            try {
                done.join();
            } catch (Exception e) {
                return InvMuxException.from(e);
            }
        }
        return new InvMuxException(Status.FAILED_PRECONDITION.withDescription(
                "the stream ended (the peer closed it); nothing more can be written"));
    }

    // called by the observer

    void onReady() {
        synchronized (writeLock) {
            writeLock.notifyAll();
        }
    }

    void onFirst(StreamInfo i) {
        info = i;
        sender.request(PREFETCH);
        opened.complete(this);
    }

    void onData(ByteString data) {
        if (data.isEmpty()) { // the peer's end of stream; the call goes on until closeWrite()
            peerEnded = true;
            incoming.add(EOF);
        } else {
            incoming.add(data);
        }
    }

    void onCallEnd(Throwable error) {
        synchronized (writeLock) {
            callDone = true;
            writeLock.notifyAll();
        }
        if (error == null) {
            peerEnded = true;
            incoming.add(EOF);
            if (!opened.isDone()) {
                opened.completeExceptionally(new InvMuxException(Status.INTERNAL.withDescription(
                        "the call ended before its first message")));
            }
            done.complete(null);
        } else {
            InvMuxException e = closedByApp
                    ? new InvMuxException(Status.CANCELLED.withDescription("stream closed by the application"))
                    : InvMuxException.from(error);
            incoming.add(e);
            opened.completeExceptionally(e);
            done.completeExceptionally(e);
        }
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] b = new byte[1];
            int n = read(b, 0, 1);
            return n < 0 ? -1 : b[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (len == 0) {
                return 0;
            }
            synchronized (readLock) {
                while (current == null || pos >= current.size()) {
                    if (eof) {
                        return -1;
                    }
                    if (readError != null) {
                        throw readError;
                    }
                    Object item;
                    try {
                        item = incoming.take();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted while waiting for data");
                    }
                    if (item == EOF) {
                        eof = true;
                    } else if (item instanceof IOException e) {
                        readError = e;
                    } else {
                        current = (ByteString) item;
                        pos = 0;
                        sender.request(1);
                    }
                }
                int n = Math.min(len, current.size() - pos);
                current.copyTo(b, pos, off, n);
                pos += n;
                return n;
            }
        }

        @Override
        public int available() {
            synchronized (readLock) {
                return current == null ? 0 : current.size() - pos;
            }
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            while (len > 0) {
                int n = Math.min(len, MAX_WRITE_CHUNK);
                send(ByteString.copyFrom(b, off, n));
                off += n;
                len -= n;
            }
        }

        @Override
        public void close() {
            closeWrite();
        }
    }

    /**
     * The observer of one call, generic over the request and response types of OpenStream and AcceptStream.
     */
    static final class Call<Req, Resp> implements ClientResponseObserver<Req, Resp>, Sender {
        private final InvMuxStream stream;
        private final Req first;
        private final Function<ByteString, Req> dataRequest;
        private final Function<Resp, StreamInfo> firstInfo;
        private final Function<Resp, ByteString> data;
        private ClientCallStreamObserver<Req> requests;

        /**
         * @param first the first request (open or accept)
         * @param firstInfo the StreamInfo of the expected first response, or null when the response is another
         * @param data the data of a data response, or null when it is another
         */
        Call(InvMuxStream stream, Req first, Function<ByteString, Req> dataRequest,
                Function<Resp, StreamInfo> firstInfo, Function<Resp, ByteString> data) {
            this.stream = stream;
            this.first = first;
            this.dataRequest = dataRequest;
            this.firstInfo = firstInfo;
            this.data = data;
            stream.sender = this;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<Req> requestStream) {
            requests = requestStream;
            requestStream.disableAutoRequestWithInitial(1);
            requestStream.setOnReadyHandler(stream::onReady);
        }

        /** Sends the first message; call once the stub returned (a call cannot send before it started). */
        void sendFirst() {
            requests.onNext(first);
        }

        @Override
        public void onNext(Resp value) {
            if (stream.info == null) {
                StreamInfo i = firstInfo.apply(value);
                if (i == null) {
                    cancel("the sidecar's first message was no opened/accepted");
                    return;
                }
                stream.onFirst(i);
                return;
            }
            ByteString d = data.apply(value);
            if (d != null) {
                stream.onData(d);
            } else {
                requests.request(1);
            }
        }

        @Override
        public void onError(Throwable t) {
            stream.onCallEnd(t);
        }

        @Override
        public void onCompleted() {
            stream.onCallEnd(null);
        }

        @Override
        public boolean isReady() {
            return requests.isReady();
        }

        @Override
        public void send(ByteString bytes) {
            requests.onNext(dataRequest.apply(bytes));
        }

        @Override
        public void halfClose() {
            requests.onCompleted();
        }

        @Override
        public void cancel(String why) {
            requests.cancel(why, null);
        }

        @Override
        public void request(int n) {
            requests.request(n);
        }
    }

    /** Waits for the opening; maps failures to InvMuxException and aborts the call when interrupted. */
    static InvMuxStream await(CompletableFuture<InvMuxStream> f, InvMuxStream s) throws InvMuxException,
            InterruptedIOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            s.abort();
            throw new InterruptedIOException("interrupted while opening a stream");
        } catch (CancellationException e) {
            s.abort();
            throw new InvMuxException(Status.CANCELLED.withDescription("opening cancelled"));
        } catch (Exception e) {
            throw InvMuxException.from(e);
        }
    }
}
