package io.invmux.server;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.invmux.LogKeys;
import io.invmux.Session;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.server.admin.AdminServer;
import io.invmux.server.admin.Bounds;
import io.invmux.server.admin.SidecarHistograms;
import io.invmux.server.admin.SidecarMetrics;
import io.invmux.server.config.SidecarConfig;
import io.invmux.server.config.TcpAddress;
import io.invmux.server.config.UnixAddress;
import io.invmux.server.grpc.AuthInterceptor;
import io.invmux.server.grpc.ClientIdentity;
import io.invmux.server.grpc.ConnectionLimit;
import io.invmux.server.grpc.ErrorDetails;
import io.invmux.server.grpc.ConnectionServiceImpl;
import io.invmux.server.grpc.ForwardServiceImpl;
import io.invmux.server.grpc.MonitorServiceImpl;
import io.invmux.server.grpc.StreamServiceImpl;
import io.invmux.server.grpc.StreamingCallLimit;
import io.invmux.server.proxy.TcpServiceConnector;
import io.invmux.server.runtime.SidecarRuntime;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sidecar process: the data plane ({@link SidecarRuntime}), the control API (gRPC, loopback by default),
 * an optional health-only gRPC port for Kubernetes probes, the admin HTTP port, the TCP forwarding proxy, and the
 * dialing of configured peers.
 *
 * <p>Health services (grpc.health.v1, on the API and on the health port): {@value #LIVENESS} is SERVING while the
 * process runs; {@value #ACCEPTING} once everything it binds (listeners, API, health, admin, forwards) is up and
 * until it drains: what a pod's readinessProbe asks, since a peer can link to it from then on; {@value #READINESS}
 * (and the overall "") additionally needs every configured peer to have a session: what an application waits for
 * before it opens streams. The probe must not wait for peers: two workloads that dial each other through Services
 * (which only route to Ready pods) would each wait for the other forever.
 */
public final class Sidecar implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Sidecar.class);
    /** Health service names: overall, and the two Kubernetes probes. */
    public static final String LIVENESS = "liveness";
    public static final String READINESS = "readiness";
    public static final String ACCEPTING = "accepting";
    private static final long PEER_RETRY_MIN_MS = 250;
    private static final long PEER_RETRY_MAX_MS = 5_000;
    /** Concurrent unary calls a client connection may have beyond its streaming-call limit. */
    private static final int UNARY_HEADROOM = 64;

    private final SidecarConfig config;
    private final SidecarRuntime runtime;
    private final Forwards forwards;
    private final HealthStatusManager health = new HealthStatusManager();
    private final MonitorServiceImpl monitor;
    private final Bounds bounds = new Bounds();
    /** What the admin port's /metrics shows (used only when admin.address is set). */
    private final PrometheusRegistry registry = new PrometheusRegistry();
    /** Guarded by itself: the budgets of configured links, by config entry (its identity: entries may be equal). */
    private final java.util.Map<SidecarConfig.Link, io.invmux.LinkBudget> budgets = new java.util.IdentityHashMap<>();
    private final ScheduledExecutorService peerDialer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "invmux-peers");
        t.setDaemon(true);
        return t;
    });
    private final List<Server> servers = new ArrayList<>();
    private EpollEventLoopGroup unixGroup;
    /** One per API or health port, made during start; read by the metrics from any thread. */
    private final List<ConnectionLimit> connectionLimits = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Loops of the TCP API and health ports; made on first use during start, closed last. */
    private NioEventLoopGroup tcpGroup;
    private UnixApiSocket unixSocket;
    /** Made by startApi, shared with the health port; written once during start, before any call. */
    private StreamingCallLimit streamingLimit;
    private AdminServer admin;
    private SocketAddress apiAddress;
    private InetSocketAddress healthAddress;
    private volatile boolean ready;
    private volatile boolean draining;
    private volatile boolean closed;

    private Sidecar(SidecarConfig config) {
        this.config = config;
        TcpServiceConnector connector = new TcpServiceConnector(TcpServiceConnector.DEFAULT_CONNECT_TIMEOUT,
                config.limits().maxServiceConnections(), config.limits().serviceIdleTimeout(), bounds::refused);
        bounds.gauge("invmux_service_connections", "Local connections open to TCP services for peers' streams.",
                connector::openConnections);
        bounds.gauge("invmux_api_connections", "Client connections open to the API and health ports.",
                () -> connectionLimits.stream().mapToLong(ConnectionLimit::connections).sum());
        io.invmux.Config core = config.toCoreConfig();
        this.runtime = new SidecarRuntime(config.identity(), core, peer -> config.dialConfig(core, peer),
                config.security().insecure(), connector::connect, config.limits().acceptTimeout().toMillis(),
                bounds::refused);
        bounds.gauge("invmux_pending_streams", "Streams from peers waiting for an application to accept them.",
                () -> runtime.router().pendingStreams());
        this.forwards = new Forwards(runtime, connector);
        this.monitor = new MonitorServiceImpl(runtime, forwards::connections);
        if (config.admin().address().isPresent()) {
            // Listening before any listener is bound: the first session is measured too.
            runtime.addListener(new SidecarHistograms(runtime, registry));
        }
    }

    /** Starts everything the config asks for; returns once the API answers (readiness may come later). */
    public static Sidecar start(SidecarConfig config) throws IOException {
        Sidecar s = new Sidecar(config);
        try {
            s.startAll();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void startAll() throws IOException {
        if (config.security().insecure()) {
            log.warn("security.insecure is true: links from the network are accepted without TLS or a pre-shared "
                    + "key, so anyone who reaches a listener can start a session and open streams to every service");
        }
        health.setStatus("", ServingStatus.NOT_SERVING);
        health.setStatus(LIVENESS, ServingStatus.SERVING);
        health.setStatus(READINESS, ServingStatus.NOT_SERVING);
        health.setStatus(ACCEPTING, ServingStatus.NOT_SERVING);
        for (SidecarConfig.Service svc : config.services()) {
            forwards.addService(svc.name(), svc.target(), SidecarConfig.compresses(svc.middleware()));
        }
        for (var uri : config.listeners()) {
            await(runtime.addListenAddress(uri.toString()), "listener " + uri);
        }
        startApi();
        config.health().address().ifPresent(a -> {
            try {
                // Reachable from the pod network for the kubelet: its Watch calls count against the same per-client
                // limit as the API's, and HTTP/2 caps calls per connection likewise.
                Server h = tcpServer(new InetSocketAddress(a.host(), a.port()), "health")
                        .addTransportFilter(streamingLimit.transportFilter())
                        .addService(ServerInterceptors.intercept(health.getHealthService(), streamingLimit))
                        .maxConcurrentCallsPerConnection(config.api().maxStreamsPerClient() + UNARY_HEADROOM)
                        .build().start();
                servers.add(h);
                healthAddress = (InetSocketAddress) h.getListenSockets().get(0);
                log.info("health service on {}", healthAddress);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot bind health address " + a.host() + ":" + a.port(), e);
            }
        });
        if (config.admin().address().isPresent()) {
            TcpAddress a = config.admin().address().get();
            Map<String, Integer> configuredLinks = new TreeMap<>();
            config.peers().forEach(p -> configuredLinks.merge(p.name(), p.links().size(), Integer::sum));
            registry.register(new SidecarMetrics(runtime, forwards::connections, bounds,
                    config.security().insecure(), io.invmux.server.cli.VersionProvider.version(), configuredLinks,
                    () -> ready && !draining));
            JvmMetrics.builder().register(registry); // the standard jvm_* and process_* series
            admin = new AdminServer(new InetSocketAddress(a.host(), a.port()), registry, () -> ready && !draining);
            log.info("admin HTTP on {}", admin.address());
        }
        for (SidecarConfig.Forward f : config.forwards()) {
            forwards.addForward(f.listen().host() + ":" + f.listen().port(), f.listen(), f.peer(), f.service(),
                    SidecarConfig.compresses(f.middleware()), f.trafficClass());
        }
        health.setStatus(ACCEPTING, ServingStatus.SERVING);
        for (SidecarConfig.Peer peer : config.peers()) {
            runtime.addKnownPeer(peer.name());
            dialPeer(peer, 0);
        }
        updateReadiness();
    }

    private void startApi() throws IOException {
        SidecarConfig.Api api = config.api();
        ClientIdentity clients = new ClientIdentity();
        NettyServerBuilder b;
        if (api.address() instanceof UnixAddress u) {
            unixSocket = new UnixApiSocket(u.path(), api.socketGroup());
            unixGroup = new EpollEventLoopGroup(2,
                    new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory("invmux-api-unix", true));
            ChannelHandler uidRecorder = clients.acceptHandler();
            ConnectionLimit connections = connectionLimit("API");
            b = NettyServerBuilder.forAddress(new DomainSocketAddress(unixSocket.bindPath().toString()))
                    .channelFactory(() -> {
                        EpollServerDomainSocketChannel ch = new EpollServerDomainSocketChannel();
                        // ahead of the acceptor ServerBootstrap adds: a refused connection is never recorded
                        ch.pipeline().addLast(connections, uidRecorder);
                        return ch;
                    })
                    .bossEventLoopGroup(unixGroup).workerEventLoopGroup(unixGroup);
        } else {
            TcpAddress t = (TcpAddress) api.address();
            b = tcpServer(new InetSocketAddress(t.host(), t.port()), "API");
        }
        var services = List.of(StreamServiceImpl.bind(runtime),
                new ConnectionServiceImpl(runtime).bindService(), monitor.bindService(),
                new ForwardServiceImpl(forwards, config.exposure(), bounds).bindService(),
                ProtoReflectionServiceV1.newInstance().bindService());
        streamingLimit = new StreamingCallLimit(api.maxStreamsPerClient(), clients, bounds);
        b.addTransportFilter(streamingLimit.transportFilter());
        ErrorDetails errorDetails = new ErrorDetails();
        for (var svc : services) {
            // The token is checked first (interceptors added later run earlier): a refused call counts nothing.
            var limited = ServerInterceptors.intercept(svc, streamingLimit);
            var checked = api.tokenIfSet().isPresent()
                    ? ServerInterceptors.intercept(limited, new AuthInterceptor(api.tokenIfSet().get())) : limited;
            b.addService(ServerInterceptors.intercept(checked, errorDetails)); // outermost: sees every close
        }
        b.addService(ServerInterceptors.intercept(ServerInterceptors.intercept(health.getHealthService(),
                streamingLimit), errorDetails)); // Watch counts too
        // The stream calls never block (StreamBridge writes with tryWrite/onWritable and reads on request), so
        // they run on the transport's own threads: a hop through the call executor per message costs more than
        // the message's bytes at gigabit rates. Everything else keeps the default executor.
        b.callExecutor(new io.grpc.ServerCallExecutorSupplier() {
            @Override
            public <ReqT, RespT> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call,
                    io.grpc.Metadata headers) {
                return StreamServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())
                        ? com.google.common.util.concurrent.MoreExecutors.directExecutor() : null;
            }
        });
        // HTTP/2's stream limit leaves room above the streaming-call limit for unary calls, so a client at its
        // limit can still be managed; StreamingCallLimit is what refuses the streaming call one too many.
        b.maxInboundMessageSize(api.maxMessageSize())
                .maxConcurrentCallsPerConnection(api.maxStreamsPerClient() + UNARY_HEADROOM)
                .permitKeepAliveTime(10, TimeUnit.SECONDS).permitKeepAliveWithoutCalls(true);
        Server server = b.build().start();
        servers.add(server);
        apiAddress = server.getListenSockets().get(0);
        if (unixSocket != null) {
            unixSocket.publish();
            apiAddress = new DomainSocketAddress(((UnixAddress) api.address()).path().toString());
        }
        log.info("sidecar '{}' API on {}", config.identity(), apiAddress);
    }

    /**
     * A gRPC server on a TCP port whose server channel refuses a client's connection over
     * {@code api.maxConnectionsPerClient} as soon as it is accepted ({@link ConnectionLimit}).
     */
    private NettyServerBuilder tcpServer(InetSocketAddress address, String port) {
        if (tcpGroup == null) {
            tcpGroup = new NioEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()),
                    new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory("invmux-api", true));
        }
        ConnectionLimit connections = connectionLimit(port);
        return NettyServerBuilder.forAddress(address)
                .channelFactory(() -> {
                    NioServerSocketChannel ch = new NioServerSocketChannel();
                    ch.pipeline().addLast(connections); // ahead of the acceptor ServerBootstrap adds
                    return ch;
                })
                .bossEventLoopGroup(tcpGroup).workerEventLoopGroup(tcpGroup);
    }

    private ConnectionLimit connectionLimit(String port) {
        ConnectionLimit limit = new ConnectionLimit(port, config.api().maxConnectionsPerClient(), bounds);
        connectionLimits.add(limit);
        return limit;
    }

    /**
     * Adds one more configured link to a peer's session, retrying with backoff while that session lives: a path
     * that is down when the sidecar starts (a NIC not up yet, a route still converging) joins when it comes up.
     * Once in, a lost link is the session's to redial.
     */
    private void addPeerLink(SidecarConfig.Peer peer, SidecarConfig.Link link, Session session, int attempt) {
        if (closed || draining || session.isClosed()) {
            return;
        }
        runtime.dialLink(peer.name(), link.address(), link.priority(), link.weight(), budgetOf(link))
                .whenComplete((c, err) -> {
            if (err != null) {
                long delay = peerRetryDelayMs(attempt);
                log.atWarn().addKeyValue(LogKeys.PEER, peer.name()).addKeyValue(LogKeys.SESSION_ID, session.id())
                        .log("peer '{}': link {} not added ({}); retrying in {} ms", peer.name(), link.address(),
                        rootMessage(err), delay);
                peerDialer.schedule(() -> addPeerLink(peer, link, session, attempt + 1), delay,
                        TimeUnit.MILLISECONDS);
            }
        });
    }

    /**
     * The budget of a configured link with {@code maxBytesPerDay}, one per config entry for the sidecar's life: a
     * new session to the peer (after the old one was lost) goes on counting where the old one stopped.
     */
    private io.invmux.LinkBudget budgetOf(SidecarConfig.Link link) {
        if (link.maxBytesPerDay() <= 0) {
            return null;
        }
        synchronized (budgets) {
            return budgets.computeIfAbsent(link, l -> io.invmux.LinkBudget.perDay(l.maxBytesPerDay()));
        }
    }

    private static long peerRetryDelayMs(int attempt) {
        return Math.min(PEER_RETRY_MAX_MS, PEER_RETRY_MIN_MS << Math.min(attempt, 8));
    }

    /** Dials a configured peer's links; retries the whole peer with backoff until it has a session. */
    private void dialPeer(SidecarConfig.Peer peer, int attempt) {
        if (closed || draining) {
            return;
        }
        List<SidecarConfig.Link> links = peer.links();
        SidecarConfig.Link first = links.get(0);
        runtime.dialLink(peer.name(), first.address(), first.priority(), first.weight(), budgetOf(first))
                .whenComplete((c, e) -> {
            if (e != null) {
                long delay = peerRetryDelayMs(attempt);
                log.atWarn().addKeyValue(LogKeys.PEER, peer.name())
                        .log("peer '{}': cannot dial {} ({}); retrying in {} ms", peer.name(), first.address(),
                        rootMessage(e), delay);
                peerDialer.schedule(() -> dialPeer(peer, attempt + 1), delay, TimeUnit.MILLISECONDS);
                return;
            }
            try {
                Session s = runtime.sessionFor(peer.name());
                for (SidecarConfig.Link l : links.subList(1, links.size())) {
                    addPeerLink(peer, l, s, 0);
                }
                long started = System.nanoTime();
                // A session that goes away (closed, its stream ids spent, the peer draining) is replaced by a fresh
                // one for new streams while it finishes its open ones. One that lived briefly backs off, so a
                // peer that sends every session away at once is not dialed in a tight loop.
                s.goAwayFuture().thenRunAsync(() -> {
                    if (closed || draining) {
                        return;
                    }
                    runtime.retireDialed(peer.name(), s);
                    boolean brief = System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10);
                    int next = brief ? attempt + 1 : 0;
                    long delay = brief ? peerRetryDelayMs(attempt) : 0;
                    log.atWarn().addKeyValue(LogKeys.PEER, peer.name()).addKeyValue(LogKeys.SESSION_ID, s.id())
                            .log("peer '{}': session {} {}; dialing a fresh session{}", peer.name(), s.id(),
                            s.isClosed() ? "ended" : "goes away (open streams finish on it)",
                            delay > 0 ? " in " + delay + " ms" : "");
                    peerDialer.schedule(() -> dialPeer(peer, next), delay, TimeUnit.MILLISECONDS);
                    closeWhenIdle(s);
                }, peerDialer);
                s.closeFuture().whenComplete((v, x) -> updateReadiness());
            } catch (IOException ex) {
                log.warn("peer '{}': {}", peer.name(), ex.getMessage());
            }
            updateReadiness();
        });
    }

    /**
     * Closes a session that went away once its last stream has ended: it can carry no new ones, and its links
     * would otherwise stay up until the sidecar stops. Checked every second on the dialer's thread.
     */
    private void closeWhenIdle(Session s) {
        if (s.isClosed() || closed) {
            return;
        }
        if (s.numStreams() == 0) {
            log.atInfo().addKeyValue(LogKeys.SESSION_ID, s.id())
                    .log("session {}: went away and its last stream has ended; closing it", s.id());
            s.close();
            return;
        }
        peerDialer.schedule(() -> closeWhenIdle(s), 1, TimeUnit.SECONDS);
    }

    private static String rootMessage(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null && (c instanceof java.util.concurrent.CompletionException
                || c instanceof ExecutionException)) {
            c = c.getCause();
        }
        return c.getMessage();
    }

    private synchronized void updateReadiness() {
        boolean allPeers = true;
        for (SidecarConfig.Peer p : config.peers()) {
            try {
                Session s = runtime.sessionFor(p.name());
                allPeers &= !s.isClosed() && s.numConnections() > 0;
            } catch (IOException e) {
                allPeers = false;
            }
        }
        boolean now = allPeers && !draining && !closed;
        if (now != ready) {
            ready = now;
            log.info("sidecar '{}' {}", config.identity(), now ? "ready" : "not ready");
        }
        ServingStatus status = now ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus("", status);
        health.setStatus(READINESS, status);
    }

    public boolean isReady() {
        return ready;
    }

    public SidecarRuntime runtime() {
        return runtime;
    }

    public SocketAddress apiAddress() {
        return apiAddress;
    }

    public InetSocketAddress healthAddress() {
        return healthAddress;
    }

    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.address();
    }

    public Forwards forwards() {
        return forwards;
    }

    /**
     * Graceful stop: not ready any more, GOAWAY to every peer (no new streams either way), no new forwarded
     * connections, then wait up to {@code deadline} for open streams to finish, then close everything.
     */
    public void drainAndClose(Duration deadline) {
        draining = true;
        health.setStatus(ACCEPTING, ServingStatus.NOT_SERVING);
        updateReadiness();
        log.info("sidecar '{}' draining: {} open stream(s), deadline {} ms", config.identity(), runtime.openStreams(),
                deadline.toMillis());
        runtime.goAway();
        forwards.stopListening();
        long end = System.nanoTime() + deadline.toNanos();
        while (runtime.openStreams() > 0 && System.nanoTime() < end) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (runtime.openStreams() > 0) {
            log.warn("sidecar '{}': {} stream(s) still open at the drain deadline; closing them",
                    config.identity(), runtime.openStreams());
        }
        close();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        health.enterTerminalState();
        for (Server s : servers) {
            s.shutdown();
        }
        forwards.close();
        runtime.close();
        monitor.close();
        peerDialer.shutdownNow();
        for (Server s : servers) {
            try {
                if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
                    s.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                s.shutdownNow();
            }
        }
        if (admin != null) {
            admin.close();
        }
        if (unixGroup != null) {
            unixGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (tcpGroup != null) {
            tcpGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (unixSocket != null) {
            unixSocket.delete();
        }
        log.info("sidecar '{}' stopped", config.identity());
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f, String what) throws IOException {
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while starting " + what);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot start " + what + ": " + rootMessage(e), e);
        }
    }
}
