package io.invmux.server.proxy;

import io.invmux.Stream;
import io.invmux.StreamHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pumps bytes both ways between one TCP socket (a Netty channel) and one {@link Stream}, with back-pressure in
 * each direction and TCP's half-close carried across: a FIN from the socket becomes {@link Stream#closeWrite()},
 * the stream's end becomes a FIN on the socket. An error on either side resets the other (RST on the socket,
 * {@link Stream#reset()} on the stream). Once both directions have ended, both are closed.
 *
 * <p>Use: the channel must have {@code AUTO_READ} off (nothing is read before there is a stream to put it in) and
 * {@code ALLOW_HALF_CLOSURE} on (so a FIN arrives as {@link ChannelInputShutdownEvent} instead of a close), and
 * live on a {@link ProxyLoops} loop (a half-closed channel must go on writing, which epoll in Netty 4.2.18 cannot
 * do). Add the bridge to the channel's pipeline, then call {@link #start(Stream)} on the channel's event loop.
 *
 * <p>Threading: fields marked [C] belong to the channel's event loop. The stream calls its handler and runs
 * {@code onWritable} callbacks on the session's event loop, usually another thread; those calls do nothing but hop
 * to the channel's loop with their arguments, so no state is shared between the two loops.
 *
 * <p>Ownership: a buffer read from the socket belongs to the bridge (queued in {@code inbound}) until it is handed
 * to the stream whole ({@code write}, for reads of {@link #HAND_OVER_FROM} bytes or more), or until the stream has
 * copied all of it ({@code tryWrite}), then it is released here. A buffer from
 * {@link StreamHandler#onData} passes to the channel with the write (Netty releases it once written or failed),
 * or is released here when the bridge has already finished.
 *
 * <p>Memory: socket to stream, at most the current read batch waits here (reading stops while the stream is
 * full); stream to socket, at most {@link #DEMAND_WINDOW} deliveries sit between the stream and the kernel (bytes
 * the stream had already received, so never more than its receive window). Everything else waits in the stream's flow-controlled buffers or in socket buffers, i.e. the sender is pushed back on.
 */
final class StreamSocketBridge extends ChannelInboundHandlerAdapter {
    /**
     * Deliveries (each one or more chunks, see {@link io.invmux.Stream#request}) the stream may hand over before
     * the socket has taken the earlier ones. Four keep the socket busy on a fast path while bounding what a slow
     * reader costs us.
     */
    static final int DEMAND_WINDOW = 4;

    /**
     * Socket reads of at least this many bytes are handed to the stream whole ({@code write(ByteBuf)}); smaller ones
     * are copied, so that many small reads still make full chunks.
     */
    static final int HAND_OVER_FROM = 16 * 1024;

    private static final Logger log = LoggerFactory.getLogger(StreamSocketBridge.class);

    private final Channel channel;
    private final ProxyStats stats;
    /** Says which bridge a log line is about, e.g. "forward 127.0.0.1:5000 -> db/postgres". */
    private final String name;
    /** Completes once the bridge has finished: normally after a clean end, exceptionally after a reset. */
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final StreamHandler handler = new Handler();

    private Stream stream; // [C] null until start
    private final ArrayDeque<ByteBuf> inbound = new ArrayDeque<>(4); // [C] read from the socket, not yet in the stream
    private boolean waitingForStream; // [C] the stream was full; reads are off until its onWritable callback
    private boolean inputEnded; // [C] the socket's peer sent FIN
    private boolean upstreamDone; // [C] everything read went into the stream, and the stream was write-closed
    private boolean downstreamEnding; // [C] the stream ended; the socket's output is being shut down
    private boolean downstreamDone; // [C] the socket's output was shut down (FIN sent)
    private boolean finished; // [C] closed or reset; nothing more happens
    private long bytesIn; // [C] socket to stream
    private long bytesOut; // [C] stream to socket

    StreamSocketBridge(Channel channel, ProxyStats stats, String name) {
        this.channel = channel;
        this.stats = stats;
        this.name = name;
    }

    /** Completes when the bridge has finished, exceptionally when it ended in a reset or error. */
    CompletableFuture<Void> done() {
        return done;
    }

    /** [C] Starts pumping between the channel and {@code s}; the bridge owns the stream from now on. */
    void start(Stream s) {
        assert channel.eventLoop().inEventLoop();
        if (finished) {
            // The socket died (or the bridge was aborted) while the stream was being opened.
            s.reset();
            return;
        }
        stream = s;
        log.debug("{}: bridging {} with stream {}", name, channel.remoteAddress(), s.id());
        // A stream that fails before its handler is set never calls onError; its close future always tells.
        s.closeFuture().whenComplete((ok, err) -> {
            if (err != null) {
                onLoop(() -> streamFailed(err));
            }
        });
        s.setHandler(handler);
        s.request(DEMAND_WINDOW);
        drainInbound(); // also turns reading on
    }

    /** Any thread: ends the connection at once (RST to the socket, reset of the stream). */
    void abort(String why) {
        onLoop(() -> {
            if (!finished) {
                log.debug("{}: aborting: {}", name, why);
                terminate(new IOException(why));
            }
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // socket -> stream  [C]
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (finished || !(msg instanceof ByteBuf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        inbound.addLast((ByteBuf) msg); // ours until handed to the stream or copied into it
        drainInbound();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE && !inputEnded) {
            inputEnded = true;
            log.debug("{}: socket input ended after {} bytes", name, bytesIn);
            drainInbound(); // write-closes the stream once what was read before the FIN is in
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * [C] Moves read bytes into the stream as far as it takes them. When it is full, reading stops (TCP then pushes
     * back on the sender) until the stream says it is writable again.
     */
    private void drainInbound() {
        if (stream == null || waitingForStream || finished) {
            return;
        }
        ByteBuf head;
        while ((head = inbound.peekFirst()) != null) {
            int n = head.readableBytes();
            if (n >= HAND_OVER_FROM) {
                // A large read goes to the stream as it is, no copy; the stream releases it once acknowledged.
                inbound.pollFirst();
                try {
                    stream.write(head);
                } catch (IOException e) {
                    streamFailed(e);
                    return;
                }
                bytesIn += n;
                stats.addBytesIn(n);
                if (!stream.isWritable()) {
                    waitForStream();
                    return;
                }
                continue;
            }
            if (n > 0) {
                // A small one is copied: copies coalesce in the stream's chunk-sized buffers into fewer frames.
                int accepted;
                try {
                    accepted = stream.tryWrite(head.nioBuffer());
                } catch (IOException e) {
                    streamFailed(e);
                    return;
                }
                head.skipBytes(accepted);
                bytesIn += accepted;
                stats.addBytesIn(accepted);
                if (head.isReadable()) {
                    waitForStream();
                    return;
                }
            }
            inbound.pollFirst().release();
        }
        if (!inputEnded) {
            channel.config().setAutoRead(true);
        } else if (!upstreamDone) {
            upstreamDone = true;
            stream.closeWrite();
            maybeFinish();
        }
    }

    private void waitForStream() {
        waitingForStream = true;
        channel.config().setAutoRead(false);
        // Runs on the session's loop (at once if room appeared meanwhile): hop back to ours.
        stream.onWritable(() -> onLoop(this::streamWritable));
    }

    private void streamWritable() {
        waitingForStream = false;
        drainInbound();
    }

    // ---------------------------------------------------------------------------------------------------------
    // stream -> socket  [C], reached from the handler below
    // ---------------------------------------------------------------------------------------------------------

    /** [C] Writes one chunk; each chunk the socket has taken lets the stream deliver one more. */
    private void writeToSocket(ByteBuf data) {
        if (finished || downstreamEnding) {
            data.release();
            return;
        }
        int n = data.readableBytes();
        channel.writeAndFlush(data).addListener(f -> { // the channel owns data now
            if (finished) {
                return;
            }
            if (!f.isSuccess()) {
                socketFailed(f.cause());
                return;
            }
            bytesOut += n;
            stats.addBytesOut(n);
            stream.request(1);
        });
    }

    /** [C] The stream's peer half-closed and every byte was delivered: send FIN once those bytes are written. */
    private void streamEnded() {
        if (finished || downstreamEnding) {
            return;
        }
        downstreamEnding = true;
        log.debug("{}: stream {} ended after {} bytes", name, stream.id(), bytesOut);
        // shutdownOutput fails whatever the channel still queues, so it waits for the writes before it.
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (finished) {
                return;
            }
            if (!f.isSuccess()) {
                socketFailed(f.cause());
                return;
            }
            ((DuplexChannel) channel).shutdownOutput().addListener(g -> {
                if (finished) {
                    return;
                }
                if (!g.isSuccess()) {
                    socketFailed(g.cause());
                    return;
                }
                downstreamDone = true;
                maybeFinish();
            });
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // end of life  [C]
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!finished) {
            socketFailed(new ClosedChannelException());
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Handled here (resets the stream); not passed on, the pipeline's tail would log it a second time.
        socketFailed(cause);
    }

    private void socketFailed(Throwable cause) {
        if (finished) {
            return;
        }
        log.debug("{}: socket failed ({}); resetting stream {}", name, cause.toString(),
                stream == null ? "-" : stream.id());
        terminate(cause);
    }

    private void streamFailed(Throwable cause) {
        if (finished) {
            return;
        }
        log.debug("{}: stream {} failed ({}); resetting the socket", name, stream.id(), cause.toString());
        terminate(cause);
    }

    /** Both directions ended cleanly: close both sides. */
    private void maybeFinish() {
        if (finished || !upstreamDone || !downstreamDone) {
            return;
        }
        finished = true;
        log.debug("{}: closed cleanly, {} bytes in, {} bytes out", name, bytesIn, bytesOut);
        stream.close(); // both halves have ended already; this only lets the stream go
        channel.close(); // input read to EOF and output shut down, so this sends nothing more
        done.complete(null);
    }

    /** Ends everything at once: RST on the socket, reset of the stream (a no-op if it already failed). */
    private void terminate(Throwable cause) {
        finished = true;
        ByteBuf b;
        while ((b = inbound.pollFirst()) != null) {
            b.release();
        }
        if (stream != null) {
            stream.reset();
        }
        closeAbruptly(channel);
        done.completeExceptionally(cause);
    }

    /** Closes {@code ch} with SO_LINGER 0, so the kernel sends RST: the local app sees a reset, not an EOF. */
    static ChannelFuture closeAbruptly(Channel ch) {
        if (ch.isOpen()) {
            try {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (ChannelException e) {
                // The socket is already going away; a plain close is all that is left to do.
            }
        }
        return ch.close();
    }

    /** Runs {@code task} on the channel's loop; false when that loop no longer takes tasks (shutting down). */
    private boolean onLoop(Runnable task) {
        try {
            channel.eventLoop().execute(task);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    /** Receives the stream's events on the session's loop and hands them to the channel's loop. */
    private final class Handler implements StreamHandler {
        @Override
        public void onData(Stream s, ByteBuf data) {
            if (!onLoop(() -> writeToSocket(data))) {
                data.release(); // nobody will ever run the write: the buffer is still ours
            }
        }

        @Override
        public void onEnd(Stream s) {
            onLoop(StreamSocketBridge.this::streamEnded);
        }

        @Override
        public void onError(Stream s, Throwable cause) {
            onLoop(() -> streamFailed(cause));
        }
    }
}
