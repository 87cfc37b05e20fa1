package io.invmux.internal.transport;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** How addresses are written for people and for link URIs. */
public final class Addresses {
    private Addresses() {
    }

    /**
     * {@code host:port} ({@code [v6]:port}) for an IP address: {@code InetSocketAddress.toString()} repeats the host
     * as {@code name/address}, which pushes the port out of an operator's table and is no dialable address. Other
     * addresses as they name themselves.
     */
    public static String hostPort(SocketAddress address) {
        if (address instanceof InetSocketAddress a) {
            String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
        }
        return String.valueOf(address);
    }
}
