package io.invmux.internal.tls;

import io.invmux.PeerIdentity;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;

/** The identity a TLS link's peer proved with its certificate. */
public final class TlsIdentity {
    private TlsIdentity() {
    }

    /** True when the channel carries TLS. */
    public static boolean isTls(Channel channel) {
        return channel.pipeline().get(SslHandler.class) != null;
    }

    /**
     * The names in the peer's certificate, or null when the channel carries no TLS or the certificate names
     * nobody. Call after the TLS handshake (any frame read from the channel comes after it).
     */
    public static PeerIdentity of(Channel channel) {
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        try {
            Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? PeerNames.identity(x) : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
