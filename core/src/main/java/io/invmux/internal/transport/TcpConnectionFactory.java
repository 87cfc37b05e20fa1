package io.invmux.internal.transport;

import io.invmux.ConnectionFactory;
import io.invmux.TransportContext;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * {@code tcp://host:port[?bind=addr[:port]][&iface=name][&sndbuf=bytes][&rcvbuf=bytes]}.
 * <ul>
 *   <li>{@code bind}: local address (and port) the link leaves from, so each link of a bundle can take its own
 *       path (NIC, source-routed uplink);</li>
 *   <li>{@code iface}: bind to the first IPv4 address of that network interface (same purpose, by name);</li>
 *   <li>{@code sndbuf} / {@code rcvbuf}: socket buffer sizes in bytes (default: the kernel's auto-tuning).</li>
 * </ul>
 * On a listen URI only {@code sndbuf}/{@code rcvbuf} apply; host {@code 0.0.0.0} accepts on every address and
 * port 0 picks a free port. TCP_NODELAY is always on: chunks are already batched by the session. {@code tls://}
 * links take the same parameters (a subclass adds TLS to each channel).
 */
public class TcpConnectionFactory implements ConnectionFactory {
    private static final Set<String> PARAMETERS = Set.of("bind", "iface", "sndbuf", "rcvbuf");
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(128 * 1024, 256 * 1024);

    private final String scheme;

    public TcpConnectionFactory() {
        this("tcp");
    }

    /** A factory for a scheme that runs over TCP with the same parameters (tls). */
    protected TcpConnectionFactory(String scheme) {
        this.scheme = scheme;
    }

    @Override
    public String name() {
        return scheme;
    }

    @Override
    public boolean canHandle(URI uri) {
        return scheme.equalsIgnoreCase(uri.getScheme());
    }

    /**
     * The handler that sets up each new channel of {@code uri}: the session's own initializer here; a subclass
     * puts its handlers (TLS) in front of it.
     */
    protected ChannelHandler initializer(URI uri, TransportContext context, boolean dialing) {
        return context.channelInitializer();
    }

    @Override
    public CompletableFuture<Channel> dial(URI uri, TransportContext context) {
        try {
            Map<String, String> params = parameters(uri);
            InetSocketAddress remote = new InetSocketAddress(host(uri), port(uri, false));
            Bootstrap b = new Bootstrap()
                    .group(context.eventLoop())
                    .channel(EventLoops.socketChannelClass())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(initializer(uri, context, true));
            bufferOptions(b, params);
            InetSocketAddress local = localAddress(params);
            return Futures.toChannel(local == null ? b.connect(remote) : b.connect(remote, local),
                    "cannot connect link " + uri);
        } catch (RuntimeException | SocketException e) {
            return CompletableFuture.failedFuture(
                    new IllegalArgumentException("bad link URI '" + uri + "': " + e.getMessage(), e));
        }
    }

    @Override
    public CompletableFuture<Channel> listen(URI uri, TransportContext context) {
        try {
            Map<String, String> params = parameters(uri);
            ServerBootstrap b = new ServerBootstrap()
                    .group(context.eventLoopGroup())
                    .channel(EventLoops.serverChannelClass())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                    .childHandler(initializer(uri, context, false));
            if (params.containsKey("sndbuf")) {
                b.childOption(ChannelOption.SO_SNDBUF, intParam(params, "sndbuf"));
            }
            if (params.containsKey("rcvbuf")) {
                b.childOption(ChannelOption.SO_RCVBUF, intParam(params, "rcvbuf"));
            }
            return Futures.toChannel(b.bind(new InetSocketAddress(host(uri), port(uri, true))),
                    "cannot listen on " + uri);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(
                    new IllegalArgumentException("bad listen URI '" + uri + "': " + e.getMessage(), e));
        }
    }

    private static void bufferOptions(Bootstrap b, Map<String, String> params) {
        if (params.containsKey("sndbuf")) {
            b.option(ChannelOption.SO_SNDBUF, intParam(params, "sndbuf"));
        }
        if (params.containsKey("rcvbuf")) {
            b.option(ChannelOption.SO_RCVBUF, intParam(params, "rcvbuf"));
        }
    }

    /** The URI's host, without IPv6 brackets. */
    protected static String host(URI uri) {
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("missing host (expected " + uri.getScheme() + "://host:port)");
        }
        return host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    }

    private static int port(URI uri, boolean zeroAllowed) {
        int port = uri.getPort();
        if (port < (zeroAllowed ? 0 : 1) || port > 65535) {
            throw new IllegalArgumentException("port must be " + (zeroAllowed ? "0" : "1") + " to 65535, got "
                    + (port < 0 ? "none" : port));
        }
        return port;
    }

    static Map<String, String> parameters(URI uri) {
        String query = uri.getRawQuery();
        if (query == null || query.isEmpty()) {
            return Collections.emptyMap();
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1),
                    java.nio.charset.StandardCharsets.UTF_8);
            if (!PARAMETERS.contains(key)) {
                throw new IllegalArgumentException("unknown parameter '" + key + "' (known: bind, iface, sndbuf, "
                        + "rcvbuf)");
            }
            params.put(key, value);
        }
        return params;
    }

    private static int intParam(Map<String, String> params, String key) {
        String v = params.get(key);
        try {
            int n = Integer.parseInt(v);
            if (n < 1024 || n > 256 * 1024 * 1024) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number of bytes from 1024 to 268435456, got '"
                    + v + "'");
        }
    }

    private static InetSocketAddress localAddress(Map<String, String> params) throws SocketException {
        String bind = params.get("bind");
        String iface = params.get("iface");
        if (bind != null && iface != null) {
            throw new IllegalArgumentException("give either bind or iface, not both");
        }
        if (bind != null) {
            URI parsed = URI.create("tcp://" + bind);
            if (parsed.getHost() == null) {
                throw new IllegalArgumentException("bind must be address[:port], got '" + bind + "'");
            }
            return new InetSocketAddress(host(parsed), Math.max(parsed.getPort(), 0));
        }
        if (iface != null) {
            NetworkInterface ni = NetworkInterface.getByName(iface);
            if (ni == null) {
                throw new IllegalArgumentException("no network interface named '" + iface + "'");
            }
            for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    return new InetSocketAddress(a, 0);
                }
            }
            throw new IllegalArgumentException("network interface '" + iface + "' has no IPv4 address");
        }
        return null;
    }
}
