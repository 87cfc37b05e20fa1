package io.invmux.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority for tests and demos: makes a CA and issues it certificates (ECDSA P-256)
 * naming their holder by DNS, IP or SPIFFE URI SANs, written as the PEM files {@link io.invmux.TlsSettings} reads.
 * Not for production: keys are written unencrypted. Needs BouncyCastle's {@code bcpkix} on the class path (an
 * optional dependency of the core).
 */
public final class CertificateAuthority {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String name;
    private final KeyPair keys;
    private final X509Certificate certificate;

    private CertificateAuthority(String name, KeyPair keys, X509Certificate certificate) {
        this.name = name;
        this.keys = keys;
        this.certificate = certificate;
    }

    /** A new CA with a fresh key, valid from an hour ago for ten years. */
    public static CertificateAuthority create(String name) {
        KeyPair keys = newKeys();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(3650))), subject,
                keys.getPublic());
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } catch (CertIOException e) {
            throw new IllegalStateException(e);
        }
        return new CertificateAuthority(name, keys, sign(b, keys));
    }

    /** One issued certificate and its key. */
    public static final class Issued {
        private final X509Certificate certificate;
        private final KeyPair keys;

        Issued(X509Certificate certificate, KeyPair keys) {
            this.certificate = certificate;
            this.keys = keys;
        }

        public X509Certificate certificate() {
            return certificate;
        }

        /** Writes {@code certFile} (the certificate) and {@code keyFile} (its PKCS#8 key), replacing them. */
        public void write(Path certFile, Path keyFile) throws IOException {
            writeAtomically(keyFile, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
            writeAtomically(certFile, pem("CERTIFICATE", encoded(certificate)));
        }
    }

    /** A certificate valid from an hour ago for a day, naming {@code names} (see {@link #issue(Instant, Instant, String...)}). */
    public Issued issue(String... names) {
        Instant now = Instant.now();
        return issue(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), names);
    }

    /**
     * A certificate for TLS servers and clients, valid from {@code notBefore} to {@code notAfter}. Each name becomes
     * a SAN: a {@code spiffe://} URI, an IP address literal, or else a DNS name; the first is also the subject CN.
     */
    public Issued issue(Instant notBefore, Instant notAfter, String... names) {
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        if (names.length == 0) {
            throw new IllegalArgumentException("names: give at least one");
        }
        KeyPair leaf = newKeys();
        List<GeneralName> sans = new ArrayList<>();
        for (String n : names) {
            if (n.startsWith("spiffe://")) {
                sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, n));
            } else if (n.matches("[0-9.]+") || n.contains(":")) {
                sans.add(new GeneralName(GeneralName.iPAddress, n));
            } else {
                sans.add(new GeneralName(GeneralName.dNSName, n));
            }
        }
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial(), Date.from(notBefore),
                Date.from(notAfter), new X500Name("CN=" + names[0].replaceAll("[,=+<>#;\"\\\\]", "_")),
                leaf.getPublic());
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(sans.toArray(new GeneralName[0])));
        } catch (CertIOException e) {
            throw new IllegalStateException(e);
        }
        return new Issued(sign(b, keys), leaf);
    }

    /** Writes the CA's certificate (what peers put in {@code caFile}). */
    public void writeCertificate(Path caFile) throws IOException {
        writeAtomically(caFile, pem("CERTIFICATE", encoded(certificate)));
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public String name() {
        return name;
    }

    private static KeyPair newKeys() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256, RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("EC P-256 is not available", e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
        } catch (OperatorCreationException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a certificate: " + e, e);
        }
    }

    private static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** Write then rename, so a reader never sees half a file. */
    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
