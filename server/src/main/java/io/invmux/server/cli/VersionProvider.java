package io.invmux.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code invmux --version}: the project's version, written into the jar by the build from the root pom's one copy. */
public final class VersionProvider implements IVersionProvider {
    static final String RESOURCE = "/invmux-version.properties";

    /** The version this jar was built as, e.g. {@code 0.2.0}. */
    public static String version() {
        try (InputStream in = VersionProvider.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the jar");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String[] getVersion() {
        return new String[] {"invmux " + version()};
    }
}
