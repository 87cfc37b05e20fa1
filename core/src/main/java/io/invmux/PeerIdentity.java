package io.invmux;

import java.util.List;
import java.util.Objects;

/**
 * Who the peer of a session proved to be, from its credentials rather than from anything it says about itself.
 *
 * @param name the peer's name: with TLS, the last path segment of its certificate's first SPIFFE URI SAN
 *     ({@code spiffe://td/ns/x/sa/backend} gives {@code backend}), else its first DNS SAN, else its first IP SAN;
 *     with per-peer pre-shared keys, the name its key is configured under
 * @param names every name the credential carries (the SPIFFE names first, then DNS, then IP SANs); a peer may
 *     call itself any of them
 * @param credential {@code certificate} or {@code pre-shared key}
 */
public record PeerIdentity(String name, List<String> names, String credential) {
    public PeerIdentity {
        Objects.requireNonNull(name, "name");
        names = List.copyOf(names);
        Objects.requireNonNull(credential, "credential");
    }

    /** True when the credential names {@code candidate}. */
    public boolean hasName(String candidate) {
        return names.contains(candidate);
    }
}
