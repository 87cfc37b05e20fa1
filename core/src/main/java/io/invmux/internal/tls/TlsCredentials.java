package io.invmux.internal.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS contexts built from three PEM files, rebuilt when the files change, and the count of refused TLS links.
 * Any thread: {@link #contexts()} is synchronized; the contexts it hands out are immutable and thread-safe.
 */
public final class TlsCredentials {
    private static final Logger log = LoggerFactory.getLogger(TlsCredentials.class);
    /** BoringSSL when its native library loads (linux-x86_64 ships with the core), else the JDK's provider. */
    static final SslProvider PROVIDER = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    private static final List<String> PROTOCOLS = List.of("TLSv1.3");

    private final Path certFile;
    private final Path keyFile;
    private final Path caFile;
    private final AtomicLong reloads = new AtomicLong();
    private final Map<String, LongAdder> failures = new ConcurrentHashMap<>();

    // guarded by this
    private List<Object> stamp;
    private List<Object> failedStamp;
    private Contexts current;

    /** A client and a server context built from one version of the files. */
    public record Contexts(SslContext client, SslContext server) {
    }

    /** Loads the files once. @throws IllegalArgumentException naming the file and the problem */
    public TlsCredentials(Path certFile, Path keyFile, Path caFile) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.caFile = caFile;
        synchronized (this) {
            stamp = stamp();
            current = load();
        }
        log.info("TLS credentials loaded from {}, {}, {} (TLS 1.3, provider {})", certFile, keyFile, caFile,
                providerName());
    }

    public Path certFile() {
        return certFile;
    }

    public Path keyFile() {
        return keyFile;
    }

    public Path caFile() {
        return caFile;
    }

    public long reloads() {
        return reloads.get();
    }

    /** {@code BoringSSL} or {@code JDK}: the TLS implementation in use. */
    public static String providerName() {
        return PROVIDER == SslProvider.OPENSSL ? "BoringSSL" : "JDK";
    }

    public Map<String, Long> failures() {
        Map<String, Long> out = new TreeMap<>();
        failures.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    void countFailure(String reason) {
        failures.computeIfAbsent(reason, r -> new LongAdder()).increment();
    }

    /**
     * The contexts for a new link: rebuilt first if the files changed since the last load. A change that does not
     * load is logged once and the previous contexts are returned.
     */
    public synchronized Contexts contexts() {
        List<Object> now = stamp();
        if (!now.equals(stamp) && !now.equals(failedStamp)) {
            try {
                Contexts fresh = load();
                current = fresh;
                stamp = now;
                failedStamp = null;
                reloads.incrementAndGet();
                log.info("TLS credentials reloaded from {}, {}, {}", certFile, keyFile, caFile);
            } catch (IllegalArgumentException e) {
                failedStamp = now; // try again when the files change once more
                log.warn("TLS credentials changed but do not load ({}); new links keep the previous ones",
                        e.getMessage());
            }
        }
        return current;
    }

    /** What identifies one version of the files: modification time and size of each. */
    private List<Object> stamp() {
        return List.of(fileStamp(certFile), fileStamp(keyFile), fileStamp(caFile));
    }

    private static Object fileStamp(Path file) {
        try {
            return List.of(Files.getLastModifiedTime(file).toMillis(), Files.size(file));
        } catch (IOException e) {
            return "unreadable";
        }
    }

    private Contexts load() {
        List<X509Certificate> chain = certificates(certFile, "certFile");
        List<X509Certificate> cas = certificates(caFile, "caFile");
        PrivateKey key = privateKey(chain.get(0));
        X509TrustManager trust = new PeerTrustManager(pkix(cas), caFile);
        try {
            SslContext server = SslContextBuilder.forServer(key, chain.toArray(new X509Certificate[0]))
                    .sslProvider(PROVIDER).protocols(PROTOCOLS).clientAuth(ClientAuth.REQUIRE)
                    .trustManager(trust).build();
            SslContext client = SslContextBuilder.forClient()
                    .keyManager(key, chain.toArray(new X509Certificate[0]))
                    .sslProvider(PROVIDER).protocols(PROTOCOLS).trustManager(trust).build();
            return new Contexts(client, server);
        } catch (javax.net.ssl.SSLException e) {
            throw new IllegalArgumentException("TLS credentials " + certFile + " / " + keyFile + " do not make a "
                    + "TLS context: " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> certificates(Path file, String knob) {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException(knob + " " + file + " holds no PEM certificate");
            }
            return certs.stream().map(c -> (X509Certificate) c).toList();
        } catch (IOException e) {
            throw new IllegalArgumentException(knob + " " + file + " cannot be read: " + e, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(knob + " " + file + " is not a PEM certificate file: "
                    + e.getMessage(), e);
        }
    }

    /** Reads the key and checks it belongs to the certificate, so a half-rotated pair is caught here. */
    private PrivateKey privateKey(X509Certificate cert) {
        PrivateKey key;
        try {
            key = Pem.privateKey(Files.readString(keyFile));
        } catch (IOException e) {
            throw new IllegalArgumentException("keyFile " + keyFile + " cannot be read: " + e, e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("keyFile " + keyFile + " is not a PEM PKCS#8 private key "
                    + "(BEGIN PRIVATE KEY): " + e.getMessage(), e);
        }
        try {
            String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256with" + key.getAlgorithm();
            byte[] probe = "invmux key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            if (!verifier.verify(signature)) {
                throw new GeneralSecurityException("signature does not verify");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("keyFile " + keyFile + " is not the private key of the certificate "
                    + "in certFile " + certFile + " (" + e.getMessage() + ")", e);
        }
        return key;
    }

    private static X509TrustManager pkix(List<X509Certificate> cas) {
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca" + i, cas.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(store);
            for (javax.net.ssl.TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("PKIX trust manager factory made no X.509 trust manager");
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a trust manager: " + e, e);
        }
    }
}
