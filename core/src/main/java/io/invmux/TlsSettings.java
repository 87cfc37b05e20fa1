package io.invmux;

import io.invmux.internal.tls.TlsCredentials;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Credentials of {@code tls://} links: this end's certificate chain and private key, and the CA that peers'
 * certificates must be issued by, all PEM files. Links are TLS 1.3 only with mutual authentication: both ends
 * present a certificate and check the other's chain, validity and name.
 *
 * <p>The files are read again when they change (compared by modification time and size at each new link's
 * handshake), so a rotated Kubernetes Secret or cert-manager renewal takes effect for new links while the links
 * already up keep their session keys. A change that does not load (a half-written pair, a key that does not match
 * its certificate) is logged and the previous credentials stay in use until the files load again.
 *
 * <p>Name check: a dialing end expects the accepting end's certificate to name {@link #peerName()} when set, else
 * the host of the link URI; a certificate names {@code n} when it has a DNS SAN {@code n}, an IP SAN {@code n}, or
 * a SPIFFE URI SAN {@code spiffe://<trust-domain>/.../n}. The accepting end takes the peer's name from its
 * certificate: see {@link PeerIdentity}.
 *
 * <p>Immutable as configuration; the credentials loaded from the files and the failure counters are shared by
 * every copy made with {@link #withPeerName}, so per-peer copies neither reload nor count on their own.
 */
public final class TlsSettings {
    private final TlsCredentials credentials;
    private final String peerName; // null: check the link URI's host

    private TlsSettings(TlsCredentials credentials, String peerName) {
        this.credentials = credentials;
        this.peerName = peerName;
    }

    /**
     * Loads the credentials once now, so a bad file is reported here rather than at the first link.
     *
     * @param certFile this end's certificate, then any intermediates (PEM)
     * @param keyFile the certificate's private key (PEM, PKCS#8: {@code BEGIN PRIVATE KEY})
     * @param caFile the certificates of the CA (or CAs) peers' certificates must chain to (PEM)
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static TlsSettings of(Path certFile, Path keyFile, Path caFile) {
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
        Objects.requireNonNull(caFile, "caFile");
        return new TlsSettings(new TlsCredentials(certFile, keyFile, caFile), null);
    }

    /**
     * The same credentials, dialing a peer whose certificate must name {@code name} (e.g. the peer's configured
     * name) instead of the link URI's host.
     */
    public TlsSettings withPeerName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("peerName must be a non-empty name, got '" + name + "'");
        }
        return new TlsSettings(credentials, name);
    }

    public Path certFile() {
        return credentials.certFile();
    }

    public Path keyFile() {
        return credentials.keyFile();
    }

    public Path caFile() {
        return credentials.caFile();
    }

    /** The name a dialed peer's certificate must carry; empty: the link URI's host. */
    public Optional<String> peerName() {
        return Optional.ofNullable(peerName);
    }

    /** Times the files were loaded again after a change (the first load not counted). */
    public long reloads() {
        return credentials.reloads();
    }

    /**
     * TLS links refused so far (dialed and accepted), by reason: {@code expired}, {@code untrusted} (not issued by
     * the CA), {@code name} (certificate does not name the expected peer), {@code peer-refused} (the peer refused
     * this end's certificate), {@code plaintext} (the other end does not speak TLS), {@code damaged} (a record
     * failed its integrity check: bytes damaged or tampered with on the way), {@code other}.
     */
    public Map<String, Long> failures() {
        return credentials.failures();
    }

    /** The shared, reloading credentials; used by the {@code tls://} transport, not an API to build on. */
    public TlsCredentials credentials() {
        return credentials;
    }

    @Override
    public String toString() {
        return "TlsSettings[certFile=" + certFile() + ", keyFile=" + keyFile() + ", caFile=" + caFile()
                + (peerName == null ? "" : ", peerName=" + peerName) + "]";
    }
}
