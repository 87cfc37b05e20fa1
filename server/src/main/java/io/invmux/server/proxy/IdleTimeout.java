package io.invmux.server.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code onIdle} once when a channel has gone {@code timeoutNanos} without a read, a write or a change of
 * writability (a slow reader draining what was written counts as activity). Placed ahead of the handler that writes,
 * so it sees that handler's writes. One check is scheduled at a time, for when the timeout would next run out.
 *
 * <p>Threading: every field belongs to the channel's event loop [C].
 */
final class IdleTimeout extends ChannelDuplexHandler {
    private final long timeoutNanos;
    private final Runnable onIdle;
    private long lastActivity; // [C] System.nanoTime() of the last read, write or writability change
    private ScheduledFuture<?> check; // [C] null when none is scheduled (not yet active, or done)
    private boolean fired; // [C]

    IdleTimeout(long timeoutNanos, Runnable onIdle) {
        this.timeoutNanos = timeoutNanos;
        this.onIdle = onIdle;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            start(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start(ctx);
        ctx.fireChannelActive();
    }

    private void start(ChannelHandlerContext ctx) {
        if (check == null && !fired) {
            lastActivity = System.nanoTime();
            schedule(ctx, timeoutNanos);
        }
    }

    private void schedule(ChannelHandlerContext ctx, long delayNanos) {
        check = ctx.executor().schedule(() -> check(ctx), delayNanos, TimeUnit.NANOSECONDS);
    }

    private void check(ChannelHandlerContext ctx) {
        check = null;
        if (fired || !ctx.channel().isOpen()) {
            return;
        }
        long idle = System.nanoTime() - lastActivity;
        if (idle >= timeoutNanos) {
            fired = true;
            onIdle.run();
        } else {
            schedule(ctx, timeoutNanos - idle);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastActivity = System.nanoTime();
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivity = System.nanoTime();
        ctx.write(msg, promise);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        lastActivity = System.nanoTime();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    private void cancel() {
        if (check != null) {
            check.cancel(false);
            check = null;
        }
    }
}
