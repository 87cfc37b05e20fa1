package io.invmux.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.local.LocalAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** How links and listeners name addresses for operators and peers: host and port, never the port cut off. */
class AddressesTest {
    @Test
    void ipAddressesAreHostColonPort() throws Exception {
        InetAddress v4 = InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        assertThat(Addresses.hostPort(new InetSocketAddress(v4, 44677))).isEqualTo("127.0.0.1:44677");
        InetAddress v6 = InetAddress.getByName("fd00::1");
        assertThat(Addresses.hostPort(new InetSocketAddress(v6, 7700))).isEqualTo("[fd00:0:0:0:0:0:0:1]:7700");
    }

    @Test
    void unresolvedAndOtherAddressesKeepTheirName() {
        assertThat(Addresses.hostPort(InetSocketAddress.createUnresolved("pod-b.example", 7700)))
                .isEqualTo("pod-b.example:7700");
        assertThat(Addresses.hostPort(new LocalAddress("bundle-1"))).isEqualTo("local:bundle-1");
        assertThat(Addresses.hostPort(null)).isEqualTo("null");
    }
}
