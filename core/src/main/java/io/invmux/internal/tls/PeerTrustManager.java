package io.invmux.internal.tls;

import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Checks a peer's certificate: within its validity, issued by the configured CA and, on the dialing side, naming
 * the peer being dialed (passed as the engine's peer host). Each refusal says which of the three failed, naming
 * the certificate; an expired one is a {@link CertificateExpiredException} so the peer gets the
 * {@code certificate_expired} alert rather than a generic one. Stateless, shared by every link of one context.
 */
final class PeerTrustManager extends X509ExtendedTrustManager {
    private final X509TrustManager pkix;
    private final Path caFile;

    PeerTrustManager(X509TrustManager pkix, Path caFile) {
        this.pkix = pkix;
        this.caFile = caFile;
    }

    /** The dialed peer's certificate does not carry the name this end expects. */
    static final class NameMismatchException extends CertificateException {
        private static final long serialVersionUID = 1L;

        NameMismatchException(String message) {
            super(message);
        }
    }

    private void check(X509Certificate[] chain, String authType, String expectedName, boolean peerIsServer)
            throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the peer presented no certificate");
        }
        X509Certificate leaf = chain[0];
        try {
            leaf.checkValidity();
        } catch (CertificateExpiredException e) {
            throw new CertificateExpiredException("peer certificate " + PeerNames.describe(leaf) + " expired at "
                    + leaf.getNotAfter().toInstant() + " (now " + Instant.now() + ")");
        } catch (CertificateNotYetValidException e) {
            throw new CertificateNotYetValidException("peer certificate " + PeerNames.describe(leaf)
                    + " is not valid before " + leaf.getNotBefore().toInstant() + " (now " + Instant.now() + ")");
        }
        try {
            if (peerIsServer) {
                pkix.checkServerTrusted(chain, authType);
            } else {
                pkix.checkClientTrusted(chain, authType);
            }
        } catch (CertificateException e) {
            throw new CertificateException("peer certificate " + PeerNames.describe(leaf) + ", issued by '"
                    + leaf.getIssuerX500Principal().getName() + "', is not trusted by the CA in caFile " + caFile
                    + " (" + rootMessage(e) + ")", e);
        }
        if (expectedName != null) {
            List<String> names = PeerNames.of(leaf);
            if (!names.contains(expectedName)) {
                throw new NameMismatchException("peer certificate " + PeerNames.describe(leaf) + " does not name '"
                        + expectedName + "', the peer this end dialed");
            }
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, engine == null ? null : engine.getPeerHost(), true);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, null, false);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("links use SSLEngine; sockets are not supported");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("links use SSLEngine; sockets are not supported");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the dialed peer's name is unknown here; links use SSLEngine");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, null, false);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
