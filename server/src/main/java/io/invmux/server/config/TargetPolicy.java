package io.invmux.server.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code security.serviceTargets}: the local addresses a service may send peers' streams to. A peer that passed
 * the handshake chooses which service it opens, so every service target is a place the peer can reach; without a
 * list, one {@code AddService} could hand it the cloud metadata service or any host of the pod's network.
 *
 * <p>Entries are CIDRs ({@code 10.0.0.0/8}, {@code fd00::/8}), single addresses ({@code 10.1.2.3}, a /32 or /128)
 * or host names ({@code db.internal}, matched by name whatever they resolve to). An address target must fall in a
 * listed range. Link-local addresses (169.254.0.0/16, fe80::/10, where cloud metadata services answer) and the
 * other known metadata addresses are refused even then, unless an entry at least as narrow as their range names
 * them: {@code 0.0.0.0/0} does not let 169.254.169.254 through, {@code 169.254.169.254} does. Immutable.
 */
public final class TargetPolicy {
    /** The default: loopback only, the application beside the sidecar. */
    public static final List<String> DEFAULT = List.of("127.0.0.0/8", "::1/128");
    private static final Pattern HOST_NAME = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}"
                    + "[A-Za-z0-9_])?)*\\.?");
    private static final List<Cidr> GUARDED = List.of(
            Cidr.parse("169.254.0.0/16"), // IPv4 link-local: AWS, GCP, Azure, OpenStack metadata at .169.254
            Cidr.parse("fe80::/10"), // IPv6 link-local
            Cidr.parse("fd00:ec2::254/128"), // AWS metadata over IPv6
            Cidr.parse("100.100.100.200/32")); // Alibaba Cloud metadata

    private final List<String> entries;
    private final List<Cidr> ranges;
    private final List<String> hosts;

    private TargetPolicy(List<String> entries, List<Cidr> ranges, List<String> hosts) {
        this.entries = List.copyOf(entries);
        this.ranges = List.copyOf(ranges);
        this.hosts = List.copyOf(hosts);
    }

    /** The default policy: {@link #DEFAULT}. */
    public static TargetPolicy loopbackOnly() {
        return of(DEFAULT);
    }

    /**
     * A policy from its entries.
     *
     * @throws IllegalArgumentException naming the first entry that is neither a CIDR, an address nor a host name
     */
    public static TargetPolicy of(List<String> entries) {
        List<Cidr> ranges = new ArrayList<>();
        List<String> hosts = new ArrayList<>();
        for (String e : entries) {
            entry(e, ranges, hosts);
        }
        return new TargetPolicy(entries, ranges, hosts);
    }

    /** Checks one entry; the rule it breaks is the exception's message. */
    static String checkEntry(String e) {
        entry(e, new ArrayList<>(), new ArrayList<>());
        return e;
    }

    private static void entry(String e, List<Cidr> ranges, List<String> hosts) {
        if (e.contains("/") || e.contains(":") || e.matches("[0-9.]+")) {
            ranges.add(Cidr.parse(e));
        } else if (HOST_NAME.matcher(e).matches()) {
            hosts.add(e.toLowerCase(Locale.ROOT));
        } else {
            throw new IllegalArgumentException("must be a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host name");
        }
    }

    /** The entries as configured. */
    public List<String> entries() {
        return entries;
    }

    /**
     * Why a service may not send streams to {@code host}, resolved to {@code address}; empty when it may.
     *
     * @param address what {@code host} resolved to, null when it did not resolve
     */
    public Optional<String> refusal(String host, InetAddress address) {
        if (hosts.contains(host.toLowerCase(Locale.ROOT))) {
            return Optional.empty();
        }
        if (address == null) {
            return Optional.of("host " + host + " does not resolve, and security.serviceTargets does not name it"
                    + " (allowed: " + String.join(", ", entries) + ")");
        }
        String ip = address.getHostAddress();
        for (Cidr guarded : GUARDED) {
            if (guarded.contains(address)) {
                boolean named = ranges.stream().anyMatch(r -> r.contains(address) && r.prefix() >= guarded.prefix());
                if (named) {
                    return Optional.empty();
                }
                return Optional.of(ip + " is a link-local or cloud metadata address (" + guarded + "): refused "
                        + "unless security.serviceTargets names it or a range within " + guarded);
            }
        }
        if (ranges.stream().anyMatch(r -> r.contains(address))) {
            return Optional.empty();
        }
        return Optional.of("security.serviceTargets does not allow " + ip + (ip.equals(host) ? "" : " (" + host
                + ")") + "; allowed: " + String.join(", ", entries) + "; add the address, a range holding it or the "
                + "host name to security.serviceTargets");
    }

    /** {@link #refusal(String, InetAddress)}, resolving the host first (may block on DNS). */
    public Optional<String> refusal(String host) {
        InetAddress a;
        try {
            a = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            a = null;
        }
        return refusal(host, a);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TargetPolicy p && entries.equals(p.entries);
    }

    @Override
    public int hashCode() {
        return Objects.hash(entries);
    }

    @Override
    public String toString() {
        return "TargetPolicy" + entries;
    }

    /** An address range. */
    record Cidr(byte[] network, int prefix, String text) {
        static Cidr parse(String text) {
            int slash = text.indexOf('/');
            String addr = slash < 0 ? text : text.substring(0, slash);
            byte[] bytes = literal(addr);
            if (bytes == null) {
                throw new IllegalArgumentException("must be a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host "
                        + "name; " + addr + " is not an IP address");
            }
            int max = bytes.length * 8;
            int prefix = max;
            if (slash >= 0) {
                String p = text.substring(slash + 1);
                prefix = p.matches("[0-9]{1,3}") ? Integer.parseInt(p) : -1;
                if (prefix < 0 || prefix > max) {
                    throw new IllegalArgumentException("must be a CIDR whose prefix length is 0 to " + max);
                }
            }
            for (int bit = prefix; bit < max; bit++) {
                if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) {
                    throw new IllegalArgumentException("must be a CIDR with no address bits set past its prefix "
                            + "length (did you mean " + networkText(bytes, prefix) + "/" + prefix + "?)");
                }
            }
            return new Cidr(bytes, prefix, text);
        }

        boolean contains(InetAddress a) {
            byte[] b = a.getAddress();
            if (b.length != network.length) {
                return false;
            }
            for (int bit = 0; bit < prefix; bit++) {
                int mask = 0x80 >> (bit % 8);
                if ((b[bit / 8] & mask) != (network[bit / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return text;
        }

        private static String networkText(byte[] bytes, int prefix) {
            byte[] n = bytes.clone();
            for (int bit = prefix; bit < n.length * 8; bit++) {
                n[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
            }
            try {
                return InetAddress.getByAddress(n).getHostAddress();
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The bytes of an IP literal, never a DNS lookup; null when {@code s} is not one. */
        private static byte[] literal(String s) {
            if (s.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
                byte[] b = new byte[4];
                String[] parts = s.split("\\.");
                for (int i = 0; i < 4; i++) {
                    int v = Integer.parseInt(parts[i]);
                    if (v > 255) {
                        return null;
                    }
                    b[i] = (byte) v;
                }
                return b;
            }
            if (s.contains(":") && s.matches("[0-9A-Fa-f:.]+")) {
                try {
                    // A literal with a colon is parsed, not looked up; an IPv4-mapped one comes back as IPv4.
                    return InetAddress.getByName(s).getAddress();
                } catch (UnknownHostException e) {
                    return null;
                }
            }
            return null;
        }
    }
}
