package io.invmux;

import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;

/** What a {@link ConnectionFactory} needs from the session to open links. */
public interface TransportContext {
    /** Preferred loop for a dialed link: the session's own, so its frames need no thread hop. */
    EventLoop eventLoop();

    /** Group for accepted links. */
    EventLoopGroup eventLoopGroup();

    /** Installs the link's codec and handler; add it to each new channel's pipeline. */
    ChannelHandler channelInitializer();
}
