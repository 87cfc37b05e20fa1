package io.invmux.internal.tls;

import io.invmux.ErrorCode;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.GoAwayFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of an accepted TLS link: looks at the first record header and, when it is not TLS, answers in
 * plaintext with the link preface and a GOAWAY saying this address takes {@code tls://} links, so a plaintext
 * dialer reads why it was refused instead of a bare close. TLS input passes on to the SslHandler unchanged and
 * this handler leaves the pipeline. Channel's event loop only.
 */
final class PlaintextRefuser extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(PlaintextRefuser.class);
    private static final int RECORD_HEADER = 5;

    private final TlsCredentials credentials;
    private final String from;

    PlaintextRefuser(TlsCredentials credentials, String from) {
        this.credentials = credentials;
        this.from = from;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < RECORD_HEADER) {
            return;
        }
        if (SslHandler.isEncrypted(in, false)) {
            ctx.pipeline().remove(this);
            return;
        }
        in.skipBytes(in.readableBytes());
        String message = "this address takes tls:// links only; the link " + from + " spoke plaintext";
        credentials.countFailure("plaintext");
        log.warn("TLS link {} refused: it does not speak TLS (plaintext tcp:// dialer?)", from);
        ctx.write(FrameEncoder.encodePreface(ctx.alloc()));
        ctx.writeAndFlush(FrameEncoder.encode(ctx.alloc(), new GoAwayFrame(true, ErrorCode.HANDSHAKE_FAILED,
                message))).addListener(ChannelFutureListener.CLOSE);
    }
}
