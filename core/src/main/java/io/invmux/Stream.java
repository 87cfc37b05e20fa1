package io.invmux;

import io.netty.buffer.ByteBuf;
import java.io.Closeable;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One ordered, reliable, flow-controlled byte stream inside a {@link Session}.
 *
 * <p>Two ways to use it, pick one per direction:
 * <ul>
 *   <li>blocking: {@link #inputStream()} / {@link #outputStream()}, with {@link #setReadTimeout} and
 *       {@link #setWriteTimeout};</li>
 *   <li>non-blocking: {@link #tryWrite(ByteBuffer)} accepts what fits (or {@link #write(ByteBuf)} hands over a
 *       buffer without a copy) and {@link #onWritable(Runnable)} says when more fits;
 *       {@link #setHandler(StreamHandler)} plus {@link #request(long)} deliver received chunks on demand.</li>
 * </ul>
 * All methods are thread-safe.
 */
public interface Stream extends Closeable {
    /** The stream id, unique within its session (odd: opened by the dialing side, even: by the listening side). */
    int id();

    /** The metadata the opener attached (empty when none). */
    byte[] metadata();

    Session session();

    /** How the stream's chunks are scheduled, as its opener chose ({@link TrafficClass#BULK} unless it said). */
    TrafficClass trafficClass();

    /** Reading end; read returns -1 after the peer's half-close and all its bytes. */
    InputStream inputStream();

    /** Writing end; its {@code close()} half-closes the stream ({@link #closeWrite()}). */
    OutputStream outputStream();

    /** Deadline of a blocking read; zero means none (the default). */
    void setReadTimeout(Duration timeout);

    /** Deadline of a blocking write; zero means none (the default). On expiry see {@link WriteTimeoutException}. */
    void setWriteTimeout(Duration timeout);

    /**
     * Copies as many bytes from {@code src} as the stream's send buffer takes now, advancing its position.
     *
     * @return the number of bytes accepted (0 when the buffer is full)
     * @throws java.io.IOException if the stream was reset, write-closed or its session closed
     */
    int tryWrite(ByteBuffer src) throws java.io.IOException;

    /**
     * Queues all of {@code data} for sending without copying it, taking ownership: the stream releases it once its
     * bytes are acknowledged by the peer, or when the stream fails. Never blocks and never refuses for lack of
     * room: the buffer is taken whole even past the send buffer's limit, so a writer that must stay bounded checks
     * {@link #isWritable()} (or waits for {@link #onWritable}) before its next write. For a writer that already
     * holds its bytes in a {@code ByteBuf}, e.g. a proxy handing on what it read.
     *
     * @throws java.io.IOException if the stream was reset, write-closed or its session closed; {@code data} is
     *     released then too
     */
    void write(ByteBuf data) throws java.io.IOException;

    /** True when {@link #tryWrite} would accept at least one byte. */
    boolean isWritable();

    /** Runs {@code callback} once, on an event loop thread, as soon as the stream is writable (or failed). */
    void onWritable(Runnable callback);

    /** Switches reading to push mode; chunks go to {@code handler} as {@link #request(long)} allows. */
    void setHandler(StreamHandler handler);

    /**
     * Allows {@code chunks} more {@link StreamHandler#onData} calls. Each call carries at least one chunk; chunks
     * that became readable together (one network read, or while demand was zero) may come merged in one call of
     * up to 256 KiB. Either way the bytes were already received: demand bounds calls, the stream window bounds
     * bytes.
     */
    void request(long chunks);

    /** Half-closes: the peer reads what was written, then end of stream. Reading goes on. */
    void closeWrite();

    /** Half-closes the writing side and stops reading (bytes still arriving are discarded). */
    @Override
    void close();

    /** Ends the stream at once in both directions; the peer sees {@link ErrorCode#CANCEL}. */
    void reset();

    /**
     * Ends the stream at once in both directions; the peer sees {@code code} and {@code reason}, e.g.
     * {@link ErrorCode#REFUSED_STREAM} for a stream turned away before any application read from it.
     */
    void reset(ErrorCode code, String reason);

    /** Completes when both directions are finished, exceptionally when the stream was reset. */
    CompletableFuture<Void> closeFuture();
}
