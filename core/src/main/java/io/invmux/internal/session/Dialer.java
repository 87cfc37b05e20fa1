package io.invmux.internal.session;

import io.invmux.Config;
import io.invmux.Session;
import io.invmux.TransportContext;
import io.invmux.internal.frame.FrameDecoder;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.HelloFrame;
import io.invmux.internal.transport.EventLoops;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/** The dialing side: creates sessions and opens their links. */
public final class Dialer {
    private static final Logger log = LoggerFactory.getLogger(Dialer.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Dialer() {
    }

    public static CompletableFuture<Session> dial(Config config, List<URI> uris) {
        if (uris.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("links: give at least one URI"));
        }
        byte[] id = new byte[16];
        byte[] secret = new byte[Handshake.SECRET_LENGTH];
        RANDOM.nextBytes(id);
        RANDOM.nextBytes(secret);
        MuxSession session = new MuxSession(config, true, id, secret, EventLoops.socketGroup().next(), null);
        CompletableFuture<Session> result = new CompletableFuture<>();
        connectLink(session, uris.get(0), true, null).whenComplete((first, error) -> {
            if (error != null) {
                session.close();
                result.completeExceptionally(unwrap(error));
                return;
            }
            List<CompletableFuture<?>> joins = new ArrayList<>();
            for (URI uri : uris.subList(1, uris.size())) {
                joins.add(connectLink(session, uri, false, null).handle((link, e) -> {
                    if (e != null) {
                        SessionLog.at(log, Level.WARN, session.id(), null).log("session {}: link {} not added: {}",
                                session.id(), uri, unwrap(e).getMessage());
                    }
                    return null;
                }));
            }
            CompletableFuture.allOf(joins.toArray(new CompletableFuture<?>[0]))
                    .whenComplete((v, e) -> result.complete(session));
        });
        return result;
    }

    /**
     * Dials one link of {@code session} and completes when its handshake is done. A redial names the lost link it
     * {@code replaces} (else null): the new link keeps its tier, weight and budget, which belong to the path.
     */
    static CompletableFuture<Link> connectLink(MuxSession session, URI uri, boolean newSession, Link replaces) {
        CompletableFuture<Link> result = new CompletableFuture<>();
        int linkId = session.newLinkId();
        Config config = session.config;
        TransportContext context = new TransportContext() {
            @Override
            public EventLoop eventLoop() {
                // The first link lives on the session's loop (its frames need no thread hop); the others spread
                // over the group, so their socket work (encoding, system calls) runs in parallel with it.
                return newSession ? session.loop : EventLoops.socketGroup().next();
            }

            @Override
            public EventLoopGroup eventLoopGroup() {
                return EventLoops.socketGroup();
            }

            @Override
            public java.util.Optional<io.invmux.TlsSettings> tls() {
                return config.tls();
            }

            @Override
            public ChannelHandler channelInitializer() {
                return new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new FrameDecoder(MuxSession.maxFramedChunk(config),
                                HelloFrame.maxPayload(Handshake.middlewareNames(config))), FrameEncoder.INSTANCE,
                                new LinkHandler(session, linkId, newSession, uri, replaces, result));
                    }
                };
            }
        };
        try {
            config.connectionRegistry().dial(uri, context).whenComplete((ch, e) -> {
                if (e != null) {
                    result.completeExceptionally(unwrap(e));
                }
            });
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        }
        return result;
    }

    /**
     * Redials the lost link {@code lost} as the session's {@link io.invmux.ConnectionManager} says, until it
     * joins; the new link keeps the lost one's settings. [L]
     */
    static void scheduleReconnect(MuxSession session, Link lost, int attempt) {
        URI uri = lost.dialUri;
        java.util.Optional<java.time.Duration> delay = session.config.connectionManager().redialDelay(uri, attempt);
        if (delay.isEmpty()) {
            SessionLog.at(log, Level.WARN, session.id(), null)
                    .log("session {}: giving up on link {} after {} redial(s)",
                    session.id(), uri, attempt);
            return;
        }
        session.loop.schedule(() -> {
            if (session.isClosed()) {
                return;
            }
            connectLink(session, uri, false, lost).whenComplete((link, e) -> {
                if (e != null) {
                    if (!session.isClosed()) {
                        SessionLog.at(log, Level.INFO, session.id(), null).log("session {}: redial {} of {} failed: {}",
                                session.id(), attempt + 1, uri,
                                unwrap(e).getMessage());
                        session.loop.execute(() -> scheduleReconnect(session, lost, attempt + 1));
                    }
                } else {
                    SessionLog.at(log, Level.INFO, session.id(), link).log("session {}: {} rejoined after {} redial(s)",
                            session.id(), link, attempt + 1);
                }
            });
        }, delay.get().toNanos(), TimeUnit.NANOSECONDS);
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Waits for a future, turning its failure into the {@link IOException} it carries. */
    public static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(false);
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            Throwable cause = unwrap(e);
            if (cause instanceof IOException) {
                throw (IOException) cause;
            }
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new IOException(cause);
        }
    }
}
