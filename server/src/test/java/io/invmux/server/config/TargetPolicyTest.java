package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code security.serviceTargets}: which addresses a service may send peers' streams to. */
class TargetPolicyTest {
    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @ParameterizedTest
    @CsvSource({"127.0.0.1", "127.255.0.9", "::1"})
    void theDefaultAllowsLoopback(String address) throws Exception {
        assertThat(TargetPolicy.loopbackOnly().refusal(address, ip(address))).isEmpty();
    }

    @Test
    void theDefaultRefusesAnyOtherAddressNamingTheKeyAndTheList() throws Exception {
        assertThat(TargetPolicy.loopbackOnly().refusal("10.1.2.3", ip("10.1.2.3"))).contains("security."
                + "serviceTargets does not allow 10.1.2.3; allowed: 127.0.0.0/8, ::1/128; add the address, a range "
                + "holding it or the host name to security.serviceTargets");
        assertThat(TargetPolicy.loopbackOnly().refusal("db.internal", ip("10.1.2.3"))).get().asString()
                .startsWith("security.serviceTargets does not allow 10.1.2.3 (db.internal);");
        assertThat(TargetPolicy.loopbackOnly().refusal("0.0.0.0", ip("0.0.0.0"))).isPresent();
    }

    @ParameterizedTest
    @CsvSource({"169.254.169.254,169.254.0.0/16", "::ffff:169.254.169.254,169.254.0.0/16", "fe80::1,fe80::/10",
            "fd00:ec2::254,fd00:ec2::254/128", "100.100.100.200,100.100.100.200/32"})
    void metadataAndLinkLocalAddressesAreRefusedEvenInsideAWideRange(String address, String guarded)
            throws Exception {
        TargetPolicy everything = TargetPolicy.of(List.of("0.0.0.0/0", "::/0"));
        assertThat(everything.refusal(address, ip(address))).contains(ip(address).getHostAddress()
                + " is a link-local or cloud metadata address (" + guarded + "): refused unless "
                + "security.serviceTargets names it or a range within " + guarded);
        assertThat(everything.refusal("10.1.2.3", ip("10.1.2.3"))).isEmpty();
    }

    @Test
    void anEntryAsNarrowAsTheGuardedRangeAllowsIt() throws Exception {
        assertThat(TargetPolicy.of(List.of("169.254.169.254")).refusal("169.254.169.254", ip("169.254.169.254")))
                .isEmpty();
        assertThat(TargetPolicy.of(List.of("169.254.0.0/16")).refusal("169.254.1.1", ip("169.254.1.1"))).isEmpty();
        assertThat(TargetPolicy.of(List.of("169.254.0.0/15")).refusal("169.254.1.1", ip("169.254.1.1")))
                .isPresent();
    }

    @Test
    void aHostNameEntryAllowsThatNameWhateverItResolvesTo() throws Exception {
        TargetPolicy p = TargetPolicy.of(List.of("DB.internal"));
        assertThat(p.refusal("db.internal", ip("10.9.9.9"))).isEmpty();
        assertThat(p.refusal("db.internal", null)).isEmpty();
        assertThat(p.refusal("other.internal", null)).contains("host other.internal does not resolve, and "
                + "security.serviceTargets does not name it (allowed: DB.internal)");
    }

    @Test
    void cidrsMatchByPrefix() throws Exception {
        TargetPolicy p = TargetPolicy.of(List.of("10.0.0.0/8", "fd00::/8"));
        assertThat(p.refusal("10.200.1.1", ip("10.200.1.1"))).isEmpty();
        assertThat(p.refusal("11.0.0.1", ip("11.0.0.1"))).isPresent();
        assertThat(p.refusal("fd12::1", ip("fd12::1"))).isEmpty();
        assertThat(p.refusal("fe00::1", ip("fe00::1"))).isPresent();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "10.0.0.0/33|must be a CIDR whose prefix length is 0 to 32",
            "10.0.0.1/8|must be a CIDR with no address bits set past its prefix length (did you mean 10.0.0.0/8?)",
            "300.1.1.1/8|must be a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host name; 300.1.1.1 is not an "
                    + "IP address",
            "fd00::/x|must be a CIDR whose prefix length is 0 to 128",
            "not a host|must be a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host name"})
    void badEntriesAreRefusedWithTheirRule(String entry, String rule) {
        assertThatThrownBy(() -> TargetPolicy.of(List.of(entry))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(rule);
    }

    @Test
    void configuredServicesOutsideTheListAreConfigErrorsNamingKeyValueAndRule() throws Exception {
        ConfigLoader l = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "services=[{name: meta, target: '169.254.169.254:80'}, {name: ok, target: '127.0.0.1:80'}]"));
        assertThatThrownBy(l::load).isInstanceOf(ConfigException.class).hasMessage("command line: "
                + "services[0].target = 169.254.169.254:80: 169.254.169.254 is a link-local or cloud metadata address"
                + " (169.254.0.0/16): refused unless security.serviceTargets names it or a range within "
                + "169.254.0.0/16");
        assertThatThrownBy(() -> new ConfigLoader().hostname("pod-a").overrides(List.of(
                "security.serviceTargets[0]=10.0.0.1/8")).load()).isInstanceOf(ConfigException.class).hasMessage(
                "command line: security.serviceTargets[0] = 10.0.0.1/8: must be a CIDR with no address bits set past "
                        + "its prefix length (did you mean 10.0.0.0/8?)");
        SidecarConfig c = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "services=[{name: db, target: '10.1.2.3:5432'}]", "security.serviceTargets=[10.0.0.0/8]")).load();
        assertThat(c.exposure().serviceTargets().entries()).containsExactly("10.0.0.0/8");
        assertThat(c.services()).hasSize(1);
        assertThat(new ConfigLoader().hostname("pod-a").yaml("rendered", c.toYaml()).load()).isEqualTo(c);
    }
}
