package io.invmux.client;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.Duration;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.MetadataUtils;
import io.invmux.proto.v1.AcceptStreamRequest;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.AcceptTarget;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DeleteLinkRequest;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.GetStatsRequest;
import io.invmux.proto.v1.GetStatsResponse;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListLinksResponse;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.ListSessionsResponse;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.Session;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import io.invmux.proto.v1.TrafficClass;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of one InvMux sidecar: opens and accepts byte streams that the sidecar carries over its bundle of
 * links to a peer, manages links and sessions, and watches their health, over the sidecar's gRPC API.
 *
 * <pre>{@code
 * try (InvMuxClient client = InvMuxClient.create()) {        // $INVMUX_GRPC_ENDPOINT, $INVMUX_API_TOKEN
 *     client.waitForSidecar(Duration.ofSeconds(30));
 *     try (InvMuxStream s = client.openStream("pod-b", "echo")) {
 *         s.outputStream().write("hello".getBytes());
 *         s.closeWrite();
 *         byte[] answer = s.inputStream().readAllBytes();
 *     }
 * }
 * }</pre>
 *
 * Thread-safe. Blocking methods throw {@link InvMuxException} (an IOException with the gRPC status code); their
 * {@code ...Async} forms complete exceptionally with it.
 */
public final class InvMuxClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InvMuxClient.class);
    /** Used when neither the builder nor {@value #ENV_ENDPOINT} gives an endpoint. */
    public static final String DEFAULT_ENDPOINT = "127.0.0.1:7701";
    public static final String ENV_ENDPOINT = "INVMUX_GRPC_ENDPOINT";
    public static final String ENV_TOKEN = "INVMUX_API_TOKEN";
    private static final long UNARY_DEADLINE_SECONDS = 60;
    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final String endpoint;
    /** The event loop of a channel to a Unix socket (the channel does not shut it down); null for TCP. */
    private final EventLoopGroup unixEventLoop;
    private final ManagedChannel channel;
    private final boolean ownsChannel;
    private final Channel calls;
    private final StreamServiceGrpc.StreamServiceStub streams;
    private final ConnectionServiceGrpc.ConnectionServiceFutureStub connections;
    private final MonitorServiceGrpc.MonitorServiceStub monitor;
    private final MonitorServiceGrpc.MonitorServiceFutureStub monitorFutures;
    private final HealthGrpc.HealthBlockingStub health;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "invmux-client-scheduler");
        t.setDaemon(true);
        return t;
    });

    private InvMuxClient(Builder b) {
        this.endpoint = b.endpoint;
        this.ownsChannel = b.channel == null;
        String socket = b.channel == null ? unixSocketPath(b.endpoint) : null;
        if (b.channel != null) {
            this.unixEventLoop = null;
            this.channel = b.channel;
        } else if (socket == null) {
            this.unixEventLoop = null;
            this.channel = NettyChannelBuilder.forTarget(b.endpoint).usePlaintext().build();
        } else {
            if (!Epoll.isAvailable()) {
                throw new IllegalStateException("endpoint " + b.endpoint + ": a Unix socket needs Netty's epoll "
                        + "transport (Linux on x86_64 or aarch64), which is not available here: "
                        + Epoll.unavailabilityCause());
            }
            this.unixEventLoop = new EpollEventLoopGroup(1, r -> {
                Thread t = new Thread(r, "invmux-client-unix");
                t.setDaemon(true);
                return t;
            });
            this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket))
                    .eventLoopGroup(unixEventLoop).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
        }
        Channel c = channel;
        if (b.token != null && !b.token.isEmpty()) {
            Metadata md = new Metadata();
            md.put(AUTHORIZATION, "Bearer " + b.token);
            c = ClientInterceptors.intercept(c, MetadataUtils.newAttachHeadersInterceptor(md));
        }
        this.calls = c;
        this.streams = StreamServiceGrpc.newStub(c);
        this.connections = ConnectionServiceGrpc.newFutureStub(c);
        this.monitor = MonitorServiceGrpc.newStub(c);
        this.monitorFutures = MonitorServiceGrpc.newFutureStub(c);
        this.health = HealthGrpc.newBlockingStub(channel);
    }

    /** A client of the sidecar at $INVMUX_GRPC_ENDPOINT (default 127.0.0.1:7701) with $INVMUX_API_TOKEN. */
    public static InvMuxClient create() {
        return builder().build();
    }

    /** A builder, preset from the environment ($INVMUX_GRPC_ENDPOINT, $INVMUX_API_TOKEN). */
    public static Builder builder() {
        return Builder.fromEnvironment(System.getenv());
    }

    /** Builds clients; {@link #endpoint} and {@link #token} override the environment. */
    public static final class Builder {
        private String endpoint;
        private String token;
        private ManagedChannel channel;

        private Builder() {
        }

        static Builder fromEnvironment(Map<String, String> env) {
            Builder b = new Builder();
            String e = env.get(ENV_ENDPOINT);
            b.endpoint = e == null || e.isBlank() ? DEFAULT_ENDPOINT : e.trim();
            b.token = env.get(ENV_TOKEN);
            return b;
        }

        /**
         * The sidecar API address: {@code host:port} (or any gRPC target, e.g. {@code dns:///host:port}), or a Unix
         * socket, {@code unix:///absolute/path} or {@code unix:path} (on Linux, where Netty's epoll transport runs).
         *
         * @throws IllegalArgumentException for a {@code unix:} endpoint that names no socket file, or a host
         */
        public Builder endpoint(String endpoint) {
            unixSocketPath(Objects.requireNonNull(endpoint, "endpoint"));
            this.endpoint = endpoint;
            return this;
        }

        /** The API token, sent as {@code authorization: Bearer <token>}; null or "" sends none. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** Uses this channel instead of building one (the client does not shut it down). */
        public Builder channel(ManagedChannel channel) {
            this.channel = channel;
            return this;
        }

        String endpoint() {
            return endpoint;
        }

        String token() {
            return token;
        }

        public InvMuxClient build() {
            return new InvMuxClient(this);
        }
    }

    /** The sidecar API address. */
    public String endpoint() {
        return endpoint;
    }

    /**
     * The socket file of a {@code unix:///absolute/path} or {@code unix:path} endpoint; null for any other.
     *
     * @throws IllegalArgumentException for a {@code unix:} endpoint with a host or without a file name
     */
    static String unixSocketPath(String endpoint) {
        if (!endpoint.regionMatches(true, 0, "unix:", 0, 5)) {
            return null;
        }
        String path = endpoint.substring(5);
        if (path.startsWith("//")) {
            path = path.substring(2);
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("endpoint " + endpoint + ": a Unix socket is unix:///absolute/path "
                        + "or unix:path, with no host after unix://");
            }
        }
        if (path.isEmpty() || path.endsWith("/")) {
            throw new IllegalArgumentException("endpoint " + endpoint + ": names no socket file");
        }
        return path;
    }

    // ------------------------------------------------------------------ readiness

    /**
     * Polls the sidecar's gRPC health service ("readiness") until it is SERVING: its listeners are bound and every
     * configured peer has a session.
     *
     * @throws TimeoutException naming the endpoint and the last answer when {@code timeout} passed first
     */
    public void waitForSidecar(java.time.Duration timeout) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long delay = 50;
        String last = "no answer yet";
        while (true) {
            long remaining = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (remaining <= 0) {
                throw new TimeoutException("InvMux sidecar at " + endpoint + " not ready within " + timeout.toMillis()
                        + " ms (last answer: " + last + "); is the sidecar running, and is " + ENV_ENDPOINT
                        + " right?");
            }
            try {
                HealthCheckResponse r = health.withDeadlineAfter(Math.min(1000, remaining), TimeUnit.MILLISECONDS)
                        .check(HealthCheckRequest.newBuilder().setService("readiness").build());
                if (r.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
                    return;
                }
                last = "readiness " + r.getStatus();
            } catch (StatusRuntimeException e) {
                last = e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
                        : ": " + e.getStatus().getDescription());
                channel.resetConnectBackoff();
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            Thread.sleep(Math.max(0, Math.min(delay, left)));
            delay = Math.min(delay * 2, 500);
        }
    }

    // ------------------------------------------------------------------ streams

    /** Opens a stream to {@code service} of {@code peer}; see {@link #openStream(String, String, Map)}. */
    public InvMuxStream openStream(String peer, String service) throws InvMuxException, InterruptedIOException {
        return openStream(peer, service, Map.of());
    }

    /**
     * Opens a stream to {@code service} of {@code peer} (a configured peer name or a session id), with metadata the
     * accepting application sees; returns once the sidecar answered {@code opened}.
     *
     * @throws InvMuxException INVALID_ARGUMENT (naming the field), NOT_FOUND (unknown peer), UNAVAILABLE, ...
     */
    public InvMuxStream openStream(String peer, String service, Map<String, String> metadata)
            throws InvMuxException, InterruptedIOException {
        return openStream(peer, service, metadata, TrafficClass.TRAFFIC_CLASS_BULK);
    }

    /**
     * {@link #openStream(String, String, Map)} in traffic class {@code trafficClass}: how the stream's chunks are
     * scheduled over the links, both ways (interactive: ahead of bulk, on the link expected to deliver first;
     * redundant: also a second copy on the next-best link). The acceptor's {@link InvMuxStream#info()} carries it.
     */
    public InvMuxStream openStream(String peer, String service, Map<String, String> metadata,
            TrafficClass trafficClass) throws InvMuxException, InterruptedIOException {
        InvMuxStream s = new InvMuxStream();
        return InvMuxStream.await(startOpen(s, peer, service, metadata, trafficClass), s);
    }

    /** {@link #openStream(String, String, Map)} without blocking; cancelling the future aborts the call. */
    public CompletableFuture<InvMuxStream> openStreamAsync(String peer, String service, Map<String, String> metadata) {
        return startOpen(new InvMuxStream(), peer, service, metadata, TrafficClass.TRAFFIC_CLASS_BULK);
    }

    private CompletableFuture<InvMuxStream> startOpen(InvMuxStream s, String peer, String service,
            Map<String, String> metadata, TrafficClass trafficClass) {
        OpenStreamRequest first = OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder()
                .setPeer(peer).setService(service).putAllMetadata(metadata == null ? Map.of() : metadata)
                .setTrafficClass(trafficClass)).build();
        var call = new InvMuxStream.Call<OpenStreamRequest, OpenStreamResponse>(s, first,
                d -> OpenStreamRequest.newBuilder().setData(d).build(),
                r -> r.hasOpened() ? r.getOpened() : null,
                r -> r.hasData() ? r.getData() : r.getEof() ? com.google.protobuf.ByteString.EMPTY : null);
        streams.openStream(call);
        call.sendFirst();
        return abortOnCancel(s);
    }

    /**
     * Waits for the next stream a peer opens to {@code service} and returns it. Start it before the peer opens, or
     * within the sidecar's pending timeout (10 s by default); several threads may accept at once.
     */
    public InvMuxStream acceptStream(String service) throws InvMuxException, InterruptedIOException {
        InvMuxStream s = new InvMuxStream();
        return InvMuxStream.await(startAccept(s, service), s);
    }

    /** {@link #acceptStream(String)} without blocking; cancelling the future stops waiting. */
    public CompletableFuture<InvMuxStream> acceptStreamAsync(String service) {
        return startAccept(new InvMuxStream(), service);
    }

    /**
     * Serves {@code service}: keeps {@code concurrency} AcceptStream calls waiting, replaces each one that accepted a
     * stream at once, and runs {@code handler} for every stream on the server's own pool of {@code concurrency}
     * threads (a stream accepted while all of them are busy waits for one; idle threads end after 60 s). The
     * stream is closed after the handler, aborted when it throws; transient failures are retried with backoff,
     * others stop the server (see {@link InvMuxServer}). Close the returned server to stop.
     *
     * @throws IllegalArgumentException when {@code concurrency} is below 1
     */
    public InvMuxServer serve(String service, StreamHandler handler, int concurrency) {
        return InvMuxServer.start(service, handler, concurrency, null, this::acceptStreamAsync, scheduler);
    }

    /**
     * {@link #serve(String, StreamHandler, int)} with the handlers run on {@code executor}, as many at a time as it
     * allows (the server does not shut it down).
     */
    public InvMuxServer serve(String service, StreamHandler handler, int concurrency, Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return InvMuxServer.start(service, handler, concurrency, executor, this::acceptStreamAsync, scheduler);
    }

    private CompletableFuture<InvMuxStream> startAccept(InvMuxStream s, String service) {
        AcceptStreamRequest first = AcceptStreamRequest.newBuilder()
                .setAccept(AcceptTarget.newBuilder().setService(service)).build();
        var call = new InvMuxStream.Call<AcceptStreamRequest, AcceptStreamResponse>(s, first,
                d -> AcceptStreamRequest.newBuilder().setData(d).build(),
                r -> r.hasAccepted() ? r.getAccepted() : null,
                r -> r.hasData() ? r.getData() : r.getEof() ? com.google.protobuf.ByteString.EMPTY : null);
        streams.acceptStream(call);
        call.sendFirst();
        return abortOnCancel(s);
    }

    private static CompletableFuture<InvMuxStream> abortOnCancel(InvMuxStream s) {
        CompletableFuture<InvMuxStream> f = s.opened();
        f.whenComplete((v, e) -> {
            if (e instanceof CancellationException) {
                s.abort();
            }
        });
        return f;
    }

    // ------------------------------------------------------------------ health

    /**
     * Watches health with a listener: events arrive one at a time on a gRPC thread, the next only once
     * {@link HealthListener#onEvent} returned. The watch is opened again (100 ms doubling to 5 s) when it breaks.
     */
    public HealthWatch watchHealth(WatchOptions options, HealthListener listener) {
        Objects.requireNonNull(listener, "listener");
        HealthWatch w = newWatch(options, new HealthWatch.Sink() {
            @Override
            public void event(WatchHealthResponse event, Runnable next) {
                try {
                    listener.onEvent(event);
                } catch (RuntimeException e) {
                    log.warn("health listener failed on a {} event", event.getEventCase(), e);
                }
                next.run();
            }

            @Override
            public void reconnecting(InvMuxException cause, java.time.Duration delay) {
                listener.onReconnecting(cause, delay);
            }

            @Override
            public void error(InvMuxException error) {
                listener.onError(error);
            }
        });
        w.subscribe();
        return w;
    }

    /** Watches health as a blocking iterator; close it to end the watch. */
    public HealthEvents watchHealth(WatchOptions options) {
        HealthEvents events = new HealthEvents();
        HealthWatch w = newWatch(options, events.sink());
        events.attach(w);
        w.subscribe();
        return events;
    }

    private HealthWatch newWatch(WatchOptions options, HealthWatch.Sink sink) {
        WatchOptions o = options == null ? WatchOptions.defaults() : options;
        WatchHealthRequest.Builder req = WatchHealthRequest.newBuilder();
        if (o.qualityInterval() != null && !o.qualityInterval().isZero()) {
            req.setQualityInterval(Duration.newBuilder().setSeconds(o.qualityInterval().getSeconds())
                    .setNanos(o.qualityInterval().getNano()));
        }
        if (o.sessionId() != null) {
            req.setSessionId(o.sessionId());
        }
        return new HealthWatch(monitor, channel, scheduler, req.build(), o.resubscribe(), sink);
    }

    /** Counters of every session and link now. */
    public GetStatsResponse getStats() throws InvMuxException, InterruptedIOException {
        return await(getStatsAsync());
    }

    public CompletableFuture<GetStatsResponse> getStatsAsync() {
        return completable(monitorFutures.withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS)
                .getStats(GetStatsRequest.getDefaultInstance()));
    }

    // ------------------------------------------------------------------ links and sessions

    /** Dials one more link (e.g. {@code tcp://10.0.2.2:7700}) to {@code peer}; creates the session if needed. */
    public Link dialLink(String peer, String address) throws InvMuxException, InterruptedIOException {
        return await(dialLinkAsync(peer, address, 0, 0));
    }

    /** Dials a link with a scheduling tier and a weight (0: default 1). */
    public CompletableFuture<Link> dialLinkAsync(String peer, String address, int priority, double weight) {
        return completable(connections.withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS)
                .dialLink(DialLinkRequest.newBuilder().setPeer(peer).setAddress(address).setPriority(priority)
                        .setWeight(weight).build())).thenApply(r -> r.getLink());
    }

    /** Every link of every session. */
    public List<Link> listLinks() throws InvMuxException, InterruptedIOException {
        return listLinks("");
    }

    /** Every link of one session ("" for all), all pages. */
    public List<Link> listLinks(String sessionId) throws InvMuxException, InterruptedIOException {
        return await(listLinksAsync(sessionId));
    }

    public CompletableFuture<List<Link>> listLinksAsync(String sessionId) {
        return linkPages(sessionId, "", new ArrayList<>());
    }

    private CompletableFuture<List<Link>> linkPages(String sessionId, String token, List<Link> acc) {
        return completable(connections.withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS)
                .listLinks(ListLinksRequest.newBuilder().setSessionId(sessionId).setPageSize(1000)
                        .setPageToken(token).build()))
                .thenCompose((ListLinksResponse r) -> {
                    acc.addAll(r.getLinksList());
                    return r.getNextPageToken().isEmpty() ? CompletableFuture.completedFuture(List.copyOf(acc))
                            : linkPages(sessionId, r.getNextPageToken(), acc);
                });
    }

    /** Removes a link gracefully (its chunks in flight are delivered first). */
    public void removeLink(String sessionId, String linkId) throws InvMuxException, InterruptedIOException {
        await(removeLinkAsync(sessionId, linkId));
    }

    public CompletableFuture<Void> removeLinkAsync(String sessionId, String linkId) {
        return completable(connections.withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS)
                .deleteLink(DeleteLinkRequest.newBuilder().setSessionId(sessionId).setLinkId(linkId).build()))
                .thenApply(r -> null);
    }

    /** Every session, all pages. */
    public List<Session> listSessions() throws InvMuxException, InterruptedIOException {
        return await(listSessionsAsync());
    }

    public CompletableFuture<List<Session>> listSessionsAsync() {
        return sessionPages("", new ArrayList<>());
    }

    private CompletableFuture<List<Session>> sessionPages(String token, List<Session> acc) {
        return completable(connections.withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS)
                .listSessions(ListSessionsRequest.newBuilder().setPageSize(1000).setPageToken(token).build()))
                .thenCompose((ListSessionsResponse r) -> {
                    acc.addAll(r.getSessionsList());
                    return r.getNextPageToken().isEmpty() ? CompletableFuture.completedFuture(List.copyOf(acc))
                            : sessionPages(r.getNextPageToken(), acc);
                });
    }

    /** The stubs of the raw API, with the token attached, for calls this class does not wrap. */
    public Channel channel() {
        return calls;
    }

    // ------------------------------------------------------------------ plumbing

    private static <T> CompletableFuture<T> completable(ListenableFuture<T> lf) {
        CompletableFuture<T> f = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                lf.cancel(mayInterruptIfRunning);
                return super.cancel(mayInterruptIfRunning);
            }
        };
        lf.addListener(() -> {
            try {
                f.complete(lf.get());
            } catch (Throwable e) {
                f.completeExceptionally(InvMuxException.from(e));
            }
        }, MoreExecutors.directExecutor());
        return f;
    }

    private static <T> T await(CompletableFuture<T> f) throws InvMuxException, InterruptedIOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            throw new InterruptedIOException("interrupted while waiting for the sidecar");
        } catch (Exception e) {
            throw InvMuxException.from(e);
        }
    }

    /** Closes the connection (open streams and watches fail) and the client's threads. */
    @Override
    public void close() {
        scheduler.shutdownNow();
        if (ownsChannel) {
            channel.shutdownNow();
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (unixEventLoop != null) {
            unixEventLoop.shutdownGracefully(0, 5, TimeUnit.SECONDS);
        }
    }

}
