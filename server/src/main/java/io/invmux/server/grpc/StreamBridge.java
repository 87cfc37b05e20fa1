package io.invmux.server.grpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.invmux.Stream;
import io.invmux.StreamHandler;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.Function;

/**
 * Carries bytes between one gRPC call and one data-plane stream, with back-pressure both ways and nothing
 * buffered without bound:
 * <ul>
 *   <li>call → stream: one message is requested at a time, and the next only once the stream has taken all of
 *       the previous one ({@code tryWrite}, then {@code onWritable} when full). A slow remote reader thus stalls
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
    private final Function<ByteString, Resp> dataMessage;

    // guarded by this
    private ByteBuffer writing;
    private boolean clientDone;
    private boolean closedWrite;
    // guarded by out
    private boolean wantsChunk;
    private boolean finished;

    StreamBridge(ServerCallStreamObserver<Resp> out, Stream stream, Function<ByteString, Resp> dataMessage) {
        this.out = out;
        this.stream = stream;
        this.dataMessage = dataMessage;
    }

    /** Starts the stream → call direction. Call once, after the first response message went out. */
    void start() {
        out.setOnReadyHandler(this::onCallReady);
        out.setOnCancelHandler(stream::reset);
        stream.setHandler(this);
        stream.request(1);
    }

    // ------------------------------------------------------------------ call → stream

    /** A data message from the client. */
    void onClientData(ByteString data) {
        synchronized (this) {
            writing = data.asReadOnlyByteBuffer();
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
        }
    }

    /** The client failed or cancelled. */
    void onClientError() {
        stream.reset();
    }

    // ------------------------------------------------------------------ stream → call

    @Override
    public void onData(Stream s, ByteBuf data) {
        ByteString bytes;
        try {
            bytes = ByteString.copyFrom(data.nioBuffer());
        } finally {
            data.release();
        }
        boolean more;
        synchronized (out) {
            if (finished) {
                return;
            }
            out.onNext(dataMessage.apply(bytes));
            more = out.isReady();
            wantsChunk = !more;
        }
        if (more) {
            stream.request(1);
        }
    }

    private void onCallReady() {
        boolean more;
        synchronized (out) {
            more = wantsChunk && out.isReady() && !finished;
            if (more) {
                wantsChunk = false;
            }
        }
        if (more) {
            stream.request(1);
        }
    }

    @Override
    public void onEnd(Stream s) {
        synchronized (out) {
            if (finished) {
                return;
            }
            finished = true;
            out.onCompleted();
        }
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
