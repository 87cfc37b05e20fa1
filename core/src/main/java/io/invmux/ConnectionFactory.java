package io.invmux;

import io.netty.channel.Channel;
import java.net.URI;
import java.util.concurrent.CompletableFuture;

/**
 * Makes links of one transport. The session puts its frame codec into the channels it gets; a factory only opens
 * them. Register custom factories on a {@link ConnectionRegistry}.
 */
public interface ConnectionFactory {
    /** Transport name; also the URI scheme it handles by default ("tcp"). */
    String name();

    /** True when this factory understands {@code uri}. */
    boolean canHandle(URI uri);

    /**
     * Opens a link to {@code uri}. The channel must be initialized with {@link TransportContext#channelInitializer()}
     * and should be registered on {@link TransportContext#eventLoop()} when the transport allows it.
     *
     * @return completes with the connected channel, or exceptionally with an {@link java.io.IOException}
     */
    CompletableFuture<Channel> dial(URI uri, TransportContext context);

    /**
     * Starts accepting links on {@code uri}; every accepted channel is initialized with
     * {@link TransportContext#channelInitializer()}.
     *
     * @return completes with the bound server channel (closing it stops accepting)
     */
    CompletableFuture<Channel> listen(URI uri, TransportContext context);
}
