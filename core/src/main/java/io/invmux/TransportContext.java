package io.invmux;

import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.util.Optional;

/** What a {@link ConnectionFactory} needs from the session to open links. */
public interface TransportContext {
    /** Preferred loop for a dialed link: the session's own, so its frames need no thread hop. */
    EventLoop eventLoop();

    /** Group for accepted links. */
    EventLoopGroup eventLoopGroup();

    /** Installs the link's codec and handler; add it to each new channel's pipeline. */
    ChannelHandler channelInitializer();

    /** Credentials for {@code tls://} links ({@link Config#tls()}); empty: the session has none. */
    default Optional<TlsSettings> tls() {
        return Optional.empty();
    }
}
