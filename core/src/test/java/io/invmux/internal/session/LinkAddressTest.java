package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.local.LocalAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** How a link names its remote end for operators: host and port, never the port cut off. */
class LinkAddressTest {
    @Test
    void ipAddressesAreHostColonPort() throws Exception {
        InetAddress v4 = InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        assertThat(Link.describe(new InetSocketAddress(v4, 44677))).isEqualTo("127.0.0.1:44677");
        InetAddress v6 = InetAddress.getByName("fd00::1");
        assertThat(Link.describe(new InetSocketAddress(v6, 7700))).isEqualTo("[fd00:0:0:0:0:0:0:1]:7700");
    }

    @Test
    void unresolvedAndOtherAddressesKeepTheirName() {
        assertThat(Link.describe(InetSocketAddress.createUnresolved("pod-b.example", 7700)))
                .isEqualTo("pod-b.example:7700");
        assertThat(Link.describe(new LocalAddress("bundle-1"))).isEqualTo("local:bundle-1");
        assertThat(Link.describe(null)).isEqualTo("null");
    }
}
