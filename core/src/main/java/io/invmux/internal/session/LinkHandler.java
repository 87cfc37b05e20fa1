package io.invmux.internal.session;

import io.invmux.ErrorCode;
import io.invmux.InvMuxException;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.FrameException;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.internal.frame.HelloFrame;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a link's pipeline: runs the handshake, then hands frames to the session. Lives on the
 * channel's event loop; when that is not the session's loop, frames of one read batch travel in one task.
 */
final class LinkHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(LinkHandler.class);
    /**
     * Refusals are logged once per cause and 10 s: strangers choose how many there are. Their messages may quote
     * what the stranger sent, so a line carries at most a short escaped prefix of it.
     */
    private static final RefusalLog REFUSALS = new RefusalLog(log, TimeUnit.SECONDS.toNanos(10));
    private static final int MAX_LOGGED_MESSAGE = 200;

    // Dialing side (null on the accepting side)
    private final MuxSession dialingSession;
    private final int dialLinkId;
    private final boolean newSession;
    private final URI dialUri;
    private final CompletableFuture<Link> handshakeResult;
    // Accepting side (null on the dialing side)
    private final MuxSessionListener listener;

    // Channel's event loop only
    private MuxSession session;
    private Link link;
    private boolean sameLoop;
    private List<Frame> batch;
    private Throwable failure;
    private ScheduledFuture<?> handshakeTimer;
    private byte[] clientNonce;
    /** The link was refused; what else it sent is dropped. */
    private boolean refused;
    /** Accepting side: counted in the listener's handshakes in flight (see endHandshake). */
    private boolean handshakeCounted;
    /** Dialing side: the request this end sent, which both handshake MACs cover. */
    private HelloFrame request;
    /** Accepting side, between the reply and the dialer's proof. */
    private MuxSessionListener.Challenge challenge;

    /** Dialing side: the link a redial replaces, whose scheduling settings the new link takes over; or null. */
    private final Link replaces;

    /** Dialing side. */
    LinkHandler(MuxSession session, int linkId, boolean newSession, URI uri, Link replaces,
            CompletableFuture<Link> result) {
        this.dialingSession = session;
        this.dialLinkId = linkId;
        this.newSession = newSession;
        this.dialUri = uri;
        this.replaces = replaces;
        this.handshakeResult = result;
        this.listener = null;
    }

    /** Accepting side. */
    LinkHandler(MuxSessionListener listener) {
        this.dialingSession = null;
        this.dialLinkId = 0;
        this.newSession = false;
        this.dialUri = null;
        this.replaces = null;
        this.handshakeResult = null;
        this.listener = listener;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.write(FrameEncoder.PREFACE);
        long timeout;
        if (dialingSession != null) {
            MuxSession s = dialingSession;
            request = Handshake.request(s, dialLinkId, newSession, Handshake.nonce());
            ctx.write(request);
            timeout = s.config.handshakeTimeout().toMillis();
        } else {
            String busy = listener.startHandshake(ctx.channel());
            if (busy != null) {
                ctx.flush();
                refuse(ctx, ErrorCode.LIMIT_EXCEEDED, busy);
                ctx.fireChannelActive();
                return;
            }
            handshakeCounted = true;
            timeout = listener.config.handshakeTimeout().toMillis();
        }
        ctx.flush();
        handshakeTimer = ctx.executor().schedule(() -> {
            if (link == null) {
                refuse(ctx, ErrorCode.HANDSHAKE_FAILED, "handshake not completed within " + timeout + " ms");
            }
        }, timeout, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg); // frames that were in the same read as the refused one
            return;
        }
        if (link == null) {
            try {
                handshake(ctx, msg);
            } finally {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        Frame frame = (Frame) msg;
        if (sameLoop) {
            session.onFrame(link, frame);
        } else {
            if (batch == null) {
                batch = new ArrayList<>();
            }
            batch.add(frame);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (link == null) {
            return;
        }
        if (sameLoop) {
            session.afterInbound();
        } else if (batch != null) {
            List<Frame> frames = batch;
            batch = null;
            MuxSession s = session;
            Link l = link;
            s.loop.execute(() -> {
                for (Frame f : frames) {
                    s.onFrame(l, f);
                }
                s.afterInbound();
            });
        }
    }

    private void handshake(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof GoAwayFrame) {
            GoAwayFrame goAway = (GoAwayFrame) msg;
            failure = new InvMuxException(goAway.errorCode, "link " + describe(ctx) + " refused by peer ("
                    + goAway.errorCode + "): " + RefusalLog.printable(goAway.message, MAX_LOGGED_MESSAGE));
            refused = true; // nothing after the peer's GOAWAY counts
            ctx.close();
            return;
        }
        if (!(msg instanceof HelloFrame)) {
            refuse(ctx, ErrorCode.PROTOCOL_ERROR, "expected HELLO as the first frame, got " + msg);
            return;
        }
        HelloFrame hello = (HelloFrame) msg;
        if (dialingSession != null) {
            onHelloReply(ctx, hello);
        } else {
            onHelloRequest(ctx, hello);
        }
    }

    private void onHelloReply(ChannelHandlerContext ctx, HelloFrame hello) {
        MuxSession s = dialingSession;
        String error = Handshake.checkReply(s, request, hello);
        if (error != null) {
            refuse(ctx, error.contains("failed to prove") ? ErrorCode.AUTH_FAILED : ErrorCode.HANDSHAKE_FAILED,
                    error);
            return;
        }
        ctx.writeAndFlush(Handshake.proof(s, Handshake.key(s.config, s.secret()), request, hello));
        if (newSession) {
            s.setPeerLimits(hello.streamWindow, hello.sessionWindow, hello.maxChunkSize);
            s.setPeerIdentity(io.invmux.internal.tls.TlsIdentity.of(ctx.channel()));
        }
        Link l = new Link(s, dialLinkId, ctx.channel(), dialUri.getScheme().toLowerCase(), dialUri);
        if (replaces != null) {
            l.takeSettingsOf(replaces); // before it joins, so no chunk is scheduled by the defaults
        }
        establish(ctx, s, l);
        // Complete on the session's loop, after the link has joined, so the caller sees it in connections().
        s.loop.execute(() -> handshakeResult.complete(l));
    }

    private void onHelloRequest(ChannelHandlerContext ctx, HelloFrame hello) {
        if (challenge != null) {
            onHelloProof(ctx, hello);
            return;
        }
        MuxSessionListener.Challenge c = listener.challenge(hello);
        if (c.retryWhenDone != null) {
            // The session's first link is still proving itself; ask again once it is in or out. The handshake
            // timer keeps running, so a first link that never finishes cannot hold this one forever.
            c.retryWhenDone.whenComplete((v, e) -> ctx.executor().execute(() -> {
                if (ctx.channel().isActive() && link == null && challenge == null) {
                    onHelloRequest(ctx, hello);
                }
            }));
            return;
        }
        if (c.error != null) {
            refuse(ctx, c.errorCode, c.error);
            return;
        }
        challenge = c;
        ctx.writeAndFlush(Handshake.reply(listener.config, hello, c.key, c.serverNonce));
    }

    private void onHelloProof(ChannelHandlerContext ctx, HelloFrame proof) {
        MuxSessionListener.Admission admission = listener.admit(ctx.channel(), challenge, proof);
        if (admission.error != null) {
            refuse(ctx, admission.errorCode, admission.error);
            return;
        }
        establish(ctx, admission.session, new Link(admission.session, challenge.request.linkId, ctx.channel(),
                listener.transportName(ctx.channel()), null));
        challenge = null;
        if (admission.created) {
            listener.offer(admission.session);
        }
    }

    private void establish(ChannelHandlerContext ctx, MuxSession s, Link l) {
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        endHandshake(ctx);
        session = s;
        link = l;
        sameLoop = ctx.channel().eventLoop() == s.loop;
        if (sameLoop) {
            s.attachLink(l);
        } else {
            s.loop.execute(() -> s.attachLink(l));
        }
    }

    /** Tells the peer why the link is refused (it can decode our GOAWAY: our preface went first) and closes. */
    private void refuse(ChannelHandlerContext ctx, ErrorCode code, String message) {
        if (refused) {
            return; // one refusal per link, however much it sent after the bad frame
        }
        refused = true;
        if (failure == null) {
            failure = new InvMuxException(code, message);
        }
        REFUSALS.warn(code.name(), "link " + describe(ctx), RefusalLog.printable(message, MAX_LOGGED_MESSAGE));
        if (listener != null) {
            listener.onRefused(code);
        }
        ctx.writeAndFlush(new GoAwayFrame(true, code, message)).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (refused) {
            return;
        }
        if (cause instanceof FrameException) {
            FrameException fe = (FrameException) cause;
            if (link == null) {
                refuse(ctx, fe.errorCode(), fe.getMessage());
            } else {
                failure = new InvMuxException(fe.errorCode(), fe.getMessage());
                log.warn("{}: malformed input from peer: {}", link, fe.getMessage());
                ctx.writeAndFlush(new GoAwayFrame(true, fe.errorCode(), fe.getMessage()))
                        .addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        if (failure == null) {
            failure = cause;
        }
        log.debug("link {} failed", describe(ctx), cause);
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (session != null && ctx.channel().isWritable()) {
            session.requestPump();
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void endHandshake(ChannelHandlerContext ctx) {
        if (handshakeCounted) {
            handshakeCounted = false;
            listener.endHandshake(ctx.channel());
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        endHandshake(ctx);
        if (challenge != null) {
            listener.firstLinkSettled(challenge);
        }
        if (batch != null) {
            for (Frame f : batch) {
                if (f instanceof DataFrame) {
                    ((DataFrame) f).release();
                }
            }
            batch = null;
        }
        if (link != null) {
            MuxSession s = session;
            Link l = link;
            Throwable cause = failure != null ? failure : new IOException(l + " closed by peer");
            if (sameLoop) {
                s.onLinkLost(l, cause);
            } else {
                s.loop.execute(() -> s.onLinkLost(l, cause));
            }
        } else if (handshakeResult != null && !handshakeResult.isDone()) {
            handshakeResult.completeExceptionally(failure instanceof IOException ? failure
                    : new IOException("link " + dialUri + " closed during the handshake"
                            + (failure == null ? "" : ": " + failure), failure));
        }
        ctx.fireChannelInactive();
    }

    private String describe(ChannelHandlerContext ctx) {
        return dialUri != null ? dialUri.toString()
                : io.invmux.internal.transport.Addresses.hostPort(ctx.channel().remoteAddress());
    }
}
