package io.invmux.tls;

import io.invmux.Config;
import io.invmux.TlsSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * PEM files for TLS tests, made by a throwaway CA in a directory of their own: {@link #credentials} writes a
 * certificate naming the given names and returns the paths; {@link #config} builds a core config using them.
 */
public final class TlsFixture {
    public final Path dir;
    public final CertificateAuthority ca;
    public final Path caFile;

    public TlsFixture(Path dir) {
        this(dir, CertificateAuthority.create("invmux test CA"));
    }

    public TlsFixture(Path dir, CertificateAuthority ca) {
        this.dir = dir;
        this.ca = ca;
        this.caFile = dir.resolve("ca-" + Integer.toHexString(System.identityHashCode(ca)) + ".pem");
        try {
            ca.writeCertificate(caFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where one end's files are. */
    public record Files(Path cert, Path key, Path ca) {
        public TlsSettings settings() {
            return TlsSettings.of(cert, key, ca);
        }
    }

    /** Writes {@code <label>.crt} / {@code <label>.key} for {@code issued}, trusting this fixture's CA. */
    public Files write(String label, CertificateAuthority.Issued issued) {
        Path cert = dir.resolve(label + ".crt");
        Path key = dir.resolve(label + ".key");
        try {
            issued.write(cert, key);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Files(cert, key, caFile);
    }

    /** A day-long certificate naming {@code names}, written under {@code label}. */
    public Files credentials(String label, String... names) {
        return write(label, ca.issue(names));
    }

    /** Defaults plus TLS with {@code files}. */
    public static Config config(Files files) {
        return Config.builder().tls(files.settings()).build();
    }

    /** A directory under the system's temp dir, for tests that do not use JUnit's. */
    public static Path tempDir() {
        try {
            return java.nio.file.Files.createTempDirectory("invmux-tls");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
