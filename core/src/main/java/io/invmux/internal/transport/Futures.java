package io.invmux.internal.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/** Bridges Netty channel futures to {@link CompletableFuture}s with I/O errors that name what failed. */
public final class Futures {
    private Futures() {
    }

    public static CompletableFuture<Channel> toChannel(ChannelFuture future, String what) {
        CompletableFuture<Channel> result = new CompletableFuture<>();
        future.addListener(f -> {
            if (f.isSuccess()) {
                result.complete(future.channel());
            } else {
                Throwable cause = f.cause();
                result.completeExceptionally(cause instanceof IOException
                        ? new IOException(what + ": " + cause.getMessage(), cause)
                        : new IOException(what + ": " + cause, cause));
            }
        });
        return result;
    }
}
