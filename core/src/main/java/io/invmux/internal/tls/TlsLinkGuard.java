package io.invmux.internal.tls;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits right after the SslHandler and turns a TLS failure into one clear refusal: it names what was wrong (this
 * end refused the peer's certificate and why, the peer refused ours, the peer does not speak TLS), logs it once at
 * WARN, counts it by reason, and passes an {@link SSLHandshakeException} with that message on to the link handler,
 * which fails the dial with it. Later echoes of the same failure are dropped. Channel's event loop only.
 */
final class TlsLinkGuard extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TlsLinkGuard.class);
    /** BoringSSL: {@code ...:SSLV3_ALERT_CERTIFICATE_EXPIRED}; JDK: {@code Received fatal alert: certificate_expired}. */
    private static final Pattern ALERT = Pattern.compile("(?:ALERT_([A-Z_]+))|(?:alert: ([a-z_]+))");

    /** Alerts a peer sends when records arrive damaged, as opposed to when it refuses a certificate. */
    private static final java.util.Set<String> NOT_ABOUT_CERTIFICATES = java.util.Set.of("bad_record_mac",
            "decrypt_error", "decode_error", "record_overflow", "decryption_failed");

    private final TlsCredentials credentials;
    private final String link;
    private final boolean dialing;
    private boolean reported; // event loop

    TlsLinkGuard(TlsCredentials credentials, String link, boolean dialing) {
        this.credentials = credentials;
        this.link = link;
        this.dialing = dialing;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess() && !reported) {
            Refusal r = classify(e.cause());
            if (r != null) {
                report(ctx, r);
            }
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Refusal r = classify(cause);
        if (r == null) {
            ctx.fireExceptionCaught(cause);
        } else if (!reported) {
            report(ctx, r);
        }
    }

    private void report(ChannelHandlerContext ctx, Refusal r) {
        reported = true;
        credentials.countFailure(r.reason);
        String message = "TLS link " + link + " refused: " + r.message;
        log.warn(message);
        SSLHandshakeException translated = new SSLHandshakeException(message);
        translated.initCause(r.cause);
        ctx.fireExceptionCaught(translated);
        ctx.close();
    }

    record Refusal(String reason, String message, Throwable cause) {
    }

    /** What went wrong, or null when {@code cause} is not a TLS failure. */
    Refusal classify(Throwable cause) {
        boolean tls = false;
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof PeerTrustManager.NameMismatchException) {
                return new Refusal("name", t.getMessage(), cause);
            }
            if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                return new Refusal("expired", t.getMessage(), cause);
            }
            if (t instanceof CertificateException) {
                return new Refusal("untrusted", t.getMessage(), cause);
            }
            if (t instanceof NotSslRecordException) {
                return new Refusal("plaintext", dialing
                        ? "the peer answered in plaintext, not TLS (does it listen on tcp:// rather than tls://?)"
                        : "the peer does not speak TLS", cause);
            }
            tls |= t instanceof SSLException;
        }
        if (!tls) {
            return null;
        }
        String text = String.valueOf(cause.getMessage());
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            // BoringSSL's client sends no certificate when none of its chain matches the CAs the server asked for.
            if (m.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || m.contains("Empty client certificate chain")) {
                return new Refusal("untrusted", "the peer presented no certificate issued by the CA in caFile "
                        + credentials.caFile(), cause);
            }
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("BAD_DECRYPT") || m.contains("DECRYPTION_FAILED_OR_BAD_RECORD_MAC")
                    || m.contains("bad record MAC") || m.contains("Tag mismatch")) {
                return new Refusal("damaged", "a TLS record from the peer failed its integrity check: the link's "
                        + "bytes were damaged or tampered with on the way", cause);
            }
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            Matcher m = ALERT.matcher(String.valueOf(t.getMessage()));
            if (m.find()) {
                String alert = (m.group(1) != null ? m.group(1) : m.group(2)).toLowerCase(Locale.ROOT);
                if (alert.startsWith("tlsv1_") || alert.startsWith("sslv3_")) {
                    alert = alert.substring(6);
                }
                if (NOT_ABOUT_CERTIFICATES.contains(alert)) {
                    return new Refusal("damaged", "the peer reported TLS alert " + alert + ": the link's bytes "
                            + "were damaged or tampered with on the way", cause);
                }
                return new Refusal("peer-refused", "the peer refused this end's certificate (TLS alert " + alert
                        + "): check that it is valid now, issued by the CA the peer trusts"
                        + (dialing ? "" : " and names this end as the peer expects"), cause);
            }
        }
        return new Refusal("other", "TLS failed: " + text, cause);
    }
}
