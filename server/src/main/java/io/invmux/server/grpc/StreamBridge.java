package io.invmux.server.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.invmux.Stream;
import io.invmux.StreamHandler;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Carries bytes between one gRPC call and one data-plane stream, with back-pressure both ways and nothing
 * buffered without bound:
 * <ul>
 *   <li>call → stream: one message is requested at a time, and the next only once the stream has taken all of
 *       the previous one and has room ({@code write} or {@code tryWrite}, then {@code onWritable} when full). A slow remote reader thus stalls
 *       the gRPC client through HTTP/2 flow control instead of growing this process's memory.</li>
 *   <li>stream → call: chunks are requested from the stream one at a time, and the next only while the call
 *       {@code isReady()}; otherwise the call's on-ready handler asks for it. A gRPC client that stops reading
 *       thus stalls the remote writer through the stream window.</li>
 * </ul>
 * Threading: gRPC delivers client messages one at a time; stream callbacks run on the session's event loop;
 * on-ready runs on a gRPC thread. Calls on the response observer are serialized on {@code out}; the write side
 * state is guarded by {@code this}.
 */
final class StreamBridge<Resp> implements StreamHandler {
    private final ServerCallStreamObserver<Resp> out;
    private final Stream stream;
    private final Resp eofMessage;

    // guarded by this
    private ByteBuffer writing;
    private boolean clientDone;
    private boolean closedWrite;
    // guarded by out
    /** Chunks delivered while the call was not ready, to ask the stream for again once it is. */
    private int owed;
    /** The peer's end of stream was passed on as an eof message. */
    private boolean eofSent;
    /** The call is over (status sent): both directions finished, or an error. */
    private boolean finished;

    StreamBridge(ServerCallStreamObserver<Resp> out, Stream stream, Resp eofMessage) {
        this.out = out;
        this.stream = stream;
        this.eofMessage = eofMessage;
    }

    /**
     * Starts the stream → call direction. Call once, after the first response message went out. The call's
     * on-ready and on-cancel handlers (which gRPC lets a service set only before it returns its observer) must
     * forward to {@link #onCallReady()} and {@link #onClientError()}.
     */
    void start() {
        stream.setHandler(this);
        // A few chunks in flight between the stream and the call keep the event loop and the gRPC transport
        // busy at once; each further chunk is asked for only while the call is ready.
        stream.request(CHUNKS_IN_FLIGHT);
    }

    private static final int CHUNKS_IN_FLIGHT = 4;
    /**
     * isReady() turns false once this many bytes wait in the call's transport: room for a few chunks, so the
     * stream is not throttled to one chunk per on-ready round trip between two threads. gRPC takes it only
     * before the service returns its observer, hence {@link #prepare}.
     */
    private static final int ON_READY_THRESHOLD = 256 * 1024;

    /** Settings a call must get before its service method returns; call first thing in the method. */
    static void prepare(ServerCallStreamObserver<?> call) {
        call.disableAutoRequest();
        call.setOnReadyThreshold(ON_READY_THRESHOLD);
    }

    // ------------------------------------------------------------------ call → stream

    /** A data message from the client. */
    void onClientData(ByteString data) {
        synchronized (this) {
            writing = data.asReadOnlyByteBuffer();
        }
        continueWriting();
    }

    /**
     * A data message from the client as a buffer this bridge now owns (gRPC's receive buffers, see
     * {@link StreamBytes}): handed to the stream whole, without a copy; the next message is asked for once the
     * stream has room again.
     */
    void onClientData(ByteBuf data) {
        try {
            stream.write(data);
        } catch (IOException e) {
            fail(e);
            return;
        }
        if (!stream.isWritable()) {
            // Full (or failed: then the callback runs at once, and the next write reports the failure).
            stream.onWritable(this::continueWriting);
            return;
        }
        continueWriting();
    }

    private void continueWriting() {
        boolean requestMore = false;
        boolean closeNow = false;
        try {
            synchronized (this) {
                while (writing != null && writing.hasRemaining()) {
                    if (stream.tryWrite(writing) == 0) {
                        stream.onWritable(this::continueWriting);
                        return;
                    }
                }
                writing = null;
                if (clientDone) {
                    closeNow = !closedWrite;
                    closedWrite = true;
                } else {
                    requestMore = true;
                }
            }
        } catch (IOException e) {
            fail(e);
            return;
        }
        if (closeNow) {
            stream.closeWrite();
            finishIfBothDone();
        } else if (requestMore) {
            out.request(1);
        }
    }

    /** The client half-closed: end the stream's writing side once the last message is written. */
    void onClientCompleted() {
        boolean closeNow;
        synchronized (this) {
            clientDone = true;
            closeNow = writing == null && !closedWrite;
            if (closeNow) {
                closedWrite = true;
            }
        }
        if (closeNow) {
            stream.closeWrite();
            finishIfBothDone();
        }
    }

    /** gRPC has no server half-close: the call ends only once the client's direction is over too. */
    private void finishIfBothDone() {
        boolean written;
        synchronized (this) {
            written = closedWrite;
        }
        synchronized (out) {
            if (written && eofSent && !finished) {
                finished = true;
                out.onCompleted();
            }
        }
    }

    /** The client failed or cancelled. */
    void onClientError() {
        stream.reset();
    }

    // ------------------------------------------------------------------ stream → call

    @Override
    public void onData(Stream s, ByteBuf data) {
        boolean more;
        try {
            synchronized (out) {
                if (finished || eofSent) {
                    return;
                }
                // The call's marshaller (StreamBytes.marshalling) writes the bytes as a data response, straight
                // from the chunk into gRPC's buffers within onNext; the chunk is released below.
                sendRaw(new StreamBytes(data));
                more = out.isReady();
                if (!more) {
                    owed++;
                }
            }
        } finally {
            data.release();
        }
        if (more) {
            stream.request(1);
        }
    }

    /** Sends what the call's marshaller writes for {@code Resp}: generics do not reach gRPC's calls. */
    @SuppressWarnings("unchecked")
    private void sendRaw(StreamBytes bytes) {
        ((ServerCallStreamObserver<Object>) (ServerCallStreamObserver<?>) out).onNext(bytes);
    }

    void onCallReady() {
        int ask;
        synchronized (out) {
            ask = out.isReady() && !finished ? owed : 0;
            owed -= ask;
        }
        if (ask > 0) {
            stream.request(ask);
        }
    }

    @Override
    public void onEnd(Stream s) {
        synchronized (out) {
            if (finished || eofSent) {
                return;
            }
            eofSent = true;
            out.onNext(eofMessage);
        }
        finishIfBothDone();
    }

    @Override
    public void onError(Stream s, Throwable cause) {
        synchronized (out) {
            if (finished) {
                return;
            }
            finished = true;
            if (!out.isCancelled()) {
                out.onError(Statuses.from(cause));
            }
        }
    }

    private void fail(Throwable cause) {
        stream.reset();
        onError(stream, cause);
    }
}
