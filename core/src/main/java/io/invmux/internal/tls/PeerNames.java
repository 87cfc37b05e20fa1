package io.invmux.internal.tls;

import io.invmux.PeerIdentity;
import java.net.URI;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** The names a certificate gives its holder: SPIFFE URI SANs (last path segment), DNS SANs, IP SANs. */
public final class PeerNames {
    private static final int SAN_DNS = 2;
    private static final int SAN_URI = 6;
    private static final int SAN_IP = 7;

    private PeerNames() {
    }

    /** The certificate's names, SPIFFE first, then DNS, then IP; empty when it has no usable SAN. */
    public static List<String> of(X509Certificate cert) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return List.of();
        }
        if (sans == null) {
            return List.of();
        }
        List<String> spiffe = new ArrayList<>();
        List<String> dns = new ArrayList<>();
        List<String> ip = new ArrayList<>();
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            String value = String.valueOf(san.get(1));
            if (type == SAN_URI) {
                String name = spiffeName(value);
                if (name != null) {
                    spiffe.add(name);
                }
            } else if (type == SAN_DNS) {
                dns.add(value);
            } else if (type == SAN_IP) {
                ip.add(value);
            }
        }
        List<String> all = new ArrayList<>(spiffe);
        all.addAll(dns);
        all.addAll(ip);
        return List.copyOf(all);
    }

    /** {@code spiffe://td/a/b/name} gives {@code name}; anything else null. */
    static String spiffeName(String uri) {
        if (!uri.regionMatches(true, 0, "spiffe://", 0, 9)) {
            return null;
        }
        String path;
        try {
            path = URI.create(uri).getPath();
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (path == null || path.length() < 2 || path.endsWith("/")) {
            return null;
        }
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** The identity the certificate proves, or null when it names nobody. */
    public static PeerIdentity identity(X509Certificate cert) {
        List<String> names = of(cert);
        return names.isEmpty() ? null : new PeerIdentity(names.get(0), names, "certificate");
    }

    /** Subject and SANs, for messages. */
    static String describe(X509Certificate cert) {
        List<String> names = of(cert);
        return "'" + cert.getSubjectX500Principal().getName() + "'" + (names.isEmpty() ? " (no DNS, IP or SPIFFE "
                + "name)" : " naming " + names);
    }
}
