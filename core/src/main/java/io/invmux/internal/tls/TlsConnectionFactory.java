package io.invmux.internal.tls;

import io.invmux.TlsSettings;
import io.invmux.TransportContext;
import io.invmux.internal.transport.Addresses;
import io.invmux.internal.transport.TcpConnectionFactory;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslHandler;
import java.net.URI;
import java.util.concurrent.CompletableFuture;

/**
 * {@code tls://host:port[?...]}: a TCP link (same parameters as {@code tcp://}) carrying TLS 1.3 with mutual
 * authentication, using the session's {@link io.invmux.Config#tls()} credentials. Pipeline of each channel:
 * [{@link PlaintextRefuser} (accepting side)], {@link SslHandler}, {@link TlsLinkGuard}, then the session's
 * handlers. Each new channel takes the credentials' current contexts, so a reload reaches new links only.
 */
public final class TlsConnectionFactory extends TcpConnectionFactory {
    public TlsConnectionFactory() {
        super("tls");
    }

    @Override
    public CompletableFuture<Channel> dial(URI uri, TransportContext context) {
        if (context.tls().isEmpty()) {
            return CompletableFuture.failedFuture(missingCredentials(uri));
        }
        return super.dial(uri, context);
    }

    @Override
    public CompletableFuture<Channel> listen(URI uri, TransportContext context) {
        if (context.tls().isEmpty()) {
            return CompletableFuture.failedFuture(missingCredentials(uri));
        }
        return super.listen(uri, context);
    }

    private static IllegalArgumentException missingCredentials(URI uri) {
        return new IllegalArgumentException("link URI '" + uri + "' is tls:// but no TLS credentials are configured"
                + " (Config.Builder.tls; in the sidecar security.tls.certFile, keyFile and caFile)");
    }

    @Override
    protected ChannelHandler initializer(URI uri, TransportContext context, boolean dialing) {
        TlsSettings settings = context.tls().orElseThrow();
        TlsCredentials credentials = settings.credentials();
        String expectedName = settings.peerName().orElse(host(uri));
        int port = uri.getPort();
        ChannelHandler session = context.channelInitializer();
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                TlsCredentials.Contexts contexts = credentials.contexts();
                if (dialing) {
                    // The peer host is what the trust manager checks the peer's certificate names against.
                    SslHandler ssl = contexts.client().newHandler(ch.alloc(), expectedName, port);
                    configure(ssl);
                    ch.pipeline().addLast(ssl, new TlsLinkGuard(credentials, uri.toString(), true), session);
                } else {
                    String from = "from " + Addresses.hostPort(ch.remoteAddress());
                    SslHandler ssl = contexts.server().newHandler(ch.alloc());
                    configure(ssl);
                    ch.pipeline().addLast(new PlaintextRefuser(credentials, from), ssl,
                            new TlsLinkGuard(credentials, from, false), session);
                }
            }
        };
    }

    /**
     * Plaintext bytes handed to the engine per wrap: 64 KiB, not Netty's default of one 16 KiB record. With 16 KiB,
     * each record gathers a DATA header and a slice of its payload, and the queue copies about half of every chunk
     * into a fresh buffer and writes one record per buffer; with 64 KiB the engine seals several records into one
     * output buffer per call, and the TLS layer costs about a fifth less CPU per GiB ({@code TlsPipelineBench}).
     * Records stay 16 KiB on the wire (TLS's maximum); nothing waits for more data to arrive.
     */
    static final int WRAP_DATA_SIZE = 64 * 1024;

    /** Settings every link's SslHandler gets (public for the benchmarks that build the handlers themselves). */
    public static void configure(SslHandler ssl) {
        ssl.setWrapDataSize(WRAP_DATA_SIZE);
    }
}
