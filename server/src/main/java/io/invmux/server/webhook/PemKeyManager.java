package io.invmux.server.webhook;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;

/**
 * The webhook's serving certificate from PEM files (a certificate chain, and a PKCS#8 private key, RSA or EC: what
 * cert-manager writes as {@code tls.crt} and {@code tls.key} with {@code privateKey.encoding: PKCS8}). The files are
 * read again when they change (checked at most every {@link #RECHECK_NANOS}, on a handshake), so a renewed
 * certificate is served without a restart; a renewal that cannot be read keeps the last good one.
 */
final class PemKeyManager extends X509ExtendedKeyManager {
    static final long RECHECK_NANOS = 10_000_000_000L;
    private static final Pattern PRIVATE_KEY = Pattern.compile(
            "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private final Path certFile;
    private final Path keyFile;
    private final long recheckNanos;
    /** [this] the key manager of the files as last read, with their modification times. */
    private X509KeyManager current;
    private FileTime certTime;
    private FileTime keyTime;
    private long checkedAt;

    PemKeyManager(Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        this(certFile, keyFile, RECHECK_NANOS);
    }

    PemKeyManager(Path certFile, Path keyFile, long recheckNanos) throws IOException, GeneralSecurityException {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.recheckNanos = recheckNanos;
        this.certTime = Files.getLastModifiedTime(certFile);
        this.keyTime = Files.getLastModifiedTime(keyFile);
        this.current = load(certFile, keyFile);
        this.checkedAt = System.nanoTime();
    }

    static X509KeyManager load(Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        List<? extends Certificate> chain;
        try (InputStream in = Files.newInputStream(certFile)) {
            chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
        }
        if (chain.isEmpty()) {
            throw new GeneralSecurityException(certFile + ": no PEM certificate in it");
        }
        PrivateKey key = privateKey(keyFile);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] none = new char[0];
        ks.setKeyEntry("webhook", key, none, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, none);
        return (X509KeyManager) kmf.getKeyManagers()[0];
    }

    private static PrivateKey privateKey(Path keyFile) throws IOException, GeneralSecurityException {
        String pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
        Matcher m = PRIVATE_KEY.matcher(pem);
        if (!m.find()) {
            throw new GeneralSecurityException(keyFile + ": no PKCS#8 key (-----BEGIN PRIVATE KEY-----) in it; convert "
                    + "one with openssl pkcs8 -topk8 -nocrypt, or set privateKey.encoding: PKCS8 in the Certificate");
        }
        byte[] der = Base64.getMimeDecoder().decode(m.group(1));
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException(keyFile + ": not an RSA, EC or Ed25519 PKCS#8 key", last);
    }

    private synchronized X509KeyManager current() {
        long now = System.nanoTime();
        if (now - checkedAt >= recheckNanos) {
            checkedAt = now;
            try {
                FileTime c = Files.getLastModifiedTime(certFile);
                FileTime k = Files.getLastModifiedTime(keyFile);
                if (!c.equals(certTime) || !k.equals(keyTime)) {
                    current = load(certFile, keyFile);
                    certTime = c;
                    keyTime = k;
                    org.slf4j.LoggerFactory.getLogger(PemKeyManager.class).info("serving certificate {} reloaded",
                            certFile);
                }
            } catch (IOException | GeneralSecurityException e) {
                // a Secret update can be seen half-written: keep serving the last good pair, look again later
                org.slf4j.LoggerFactory.getLogger(PemKeyManager.class).warn("serving certificate {} not reloaded: {}",
                        certFile, e.getMessage());
            }
        }
        return current;
    }

    /** The certificate the handshakes present now (for logs and tests). */
    X509Certificate certificate() {
        X509Certificate[] chain = current().getCertificateChain("webhook");
        return chain[0];
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        X509KeyManager km = current();
        return km instanceof X509ExtendedKeyManager x ? x.chooseEngineServerAlias(keyType, issuers, engine)
                : km.chooseServerAlias(keyType, issuers, null);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return current().chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return current().getServerAliases(keyType, issuers);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return current().getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return current().getPrivateKey(alias);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null; // a server only
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }
}
