package io.invmux.server.admin;

import io.invmux.Connection;
import io.invmux.SessionStats;
import io.invmux.TrafficClass;
import io.invmux.compress.CompressionStats;
import io.invmux.server.runtime.SidecarRuntime;
import io.invmux.server.runtime.StreamCompression;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus view of the sidecar, read from the data plane's own counters at scrape time (nothing is counted
 * twice): per-peer and per-link counters and gauges, labelled with the peer's name and the link's path
 * ({@link LinkLabels}); every series is listed in docs/METRICS.md.
 */
public final class SidecarMetrics implements MultiCollector {
    private final SidecarRuntime runtime;
    private final LongSupplier forwardedConnections;
    private final Bounds bounds;
    private final boolean insecure;
    private final String version;
    private final Map<String, Integer> configuredLinks;
    private final BooleanSupplier ready;

    /**
     * The limits a listener and a session count (their {@link io.invmux.Config} knobs): shown at 0 before they are
     * first reached, so that {@code increase()} sees the first one. A knob the core adds later shows up once hit.
     */
    private static final List<String> LISTENER_LIMITS = List.of("maxHandshakes", "maxHandshakesPerAddress",
            "maxLinksPerSession", "maxSessions");
    private static final List<String> SESSION_LIMITS = List.of("maxPingRate", "maxReorderChunks", "maxStreams",
            "pendingOpenTimeout", "resetsAhead", "streamIds");

    /** The single data point of a metric without labels. */
    private static final List<Row<Void>> ONE = List.of(new Row<>(Labels.EMPTY, null));

    /**
     * @param bounds the local API's and proxy's bounds (their refusals and gauges)
     * @param insecure whether security.insecure lets unauthenticated links in (the {@code invmux_insecure} gauge)
     * @param version this build's version (the {@code invmux_build_info} gauge)
     * @param configuredLinks links configured per dialed peer (the {@code invmux_peer_configured_links} gauge)
     * @param ready what /ready answers (the {@code invmux_ready} gauge)
     */
    public SidecarMetrics(SidecarRuntime runtime, LongSupplier forwardedConnections, Bounds bounds, boolean insecure,
            String version, Map<String, Integer> configuredLinks, BooleanSupplier ready) {
        this.runtime = runtime;
        this.forwardedConnections = forwardedConnections;
        this.bounds = bounds;
        this.insecure = insecure;
        this.version = version;
        this.configuredLinks = Map.copyOf(configuredLinks);
        this.ready = ready;
    }

    @Override
    public MetricSnapshots collect() {
        // Series are labelled by peer name and link path, never by session or link id: those are random and new
        // on every redial, so each reconnect would start new series and leave the old ones behind. A peer with two
        // sessions at once (one replacing the other) shows their sum.
        Map<String, SessionStats> byPeer = new TreeMap<>();
        Map<String, Integer> linksByPeer = new TreeMap<>();
        Map<List<String>, CompressionStats> compressionByPeer = new TreeMap<>(LIST_ORDER);
        List<Row<SessionStats.LinkStats>> links = new ArrayList<>();
        List<Row<io.invmux.LinkBudget>> budgets = new ArrayList<>();
        LinkLabels linkLabels = new LinkLabels();
        List<SidecarRuntime.Tracked> tracked = new ArrayList<>(runtime.sessions());
        // In session id order, so that the links of one path keep their suffixes from scrape to scrape.
        tracked.sort(Comparator.comparing((SidecarRuntime.Tracked t) -> t.session().id()));
        for (SidecarRuntime.Tracked t : tracked) {
            SessionStats s = t.session().stats();
            String peer = LinkLabels.peer(t.dialer(), t.session(), t.peer());
            byPeer.merge(peer, s, SidecarMetrics::sum);
            linksByPeer.merge(peer, s.links().size(), Integer::sum);
            StreamCompression.stats(t.session()).ifPresent(c -> compressionByPeer.merge(List.of(peer, c.name()),
                    c, SidecarMetrics::sum));
            Map<String, Connection> connections = new HashMap<>();
            for (Connection c : t.session().connections()) {
                connections.put(c.id(), c);
            }
            List<SessionStats.LinkStats> ordered = new ArrayList<>(s.links());
            ordered.sort(Comparator.comparingLong(l -> linkOrder(l.id())));
            for (SessionStats.LinkStats l : ordered) {
                Connection c = connections.get(l.id());
                Labels labels = Labels.of("peer", peer, "link", linkLabels.next(peer, t.session().isClient(), l, c));
                links.add(new Row<>(labels, l));
                if (c != null) {
                    c.budget().ifPresent(b -> budgets.add(new Row<>(labels, b)));
                }
            }
        }
        List<Row<SessionStats>> sessions = new ArrayList<>();
        List<Row<String>> peers = new ArrayList<>();
        linksByPeer.keySet().forEach(p -> peers.add(new Row<>(Labels.of("peer", p), p)));
        byPeer.forEach((peer, s) -> sessions.add(new Row<>(Labels.of("peer", peer), s)));
        List<Row<CompressionStats>> compression = new ArrayList<>();
        compressionByPeer.forEach((k, c) -> compression.add(new Row<>(Labels.of("peer", k.get(0), "middleware",
                k.get(1)), c)));
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(buildInfo());
        out.add(gauge("invmux_sessions", "Sessions alive.", ONE, x -> tracked.size()));
        out.add(gauge("invmux_ready", "1 while /ready answers 200: everything bound, configured peers connected, "
                + "not draining.", ONE, x -> ready.getAsBoolean() ? 1 : 0));
        List<Row<String>> configured = new ArrayList<>();
        new TreeMap<>(configuredLinks).keySet().forEach(p -> configured.add(new Row<>(Labels.of("peer", p), p)));
        out.add(gauge("invmux_peer_configured_links", "Links the config gives a peer this sidecar dials.",
                configured, p -> configuredLinks.get(p)));
        out.add(gauge("invmux_session_links", "Links carrying the peer's session(s) now; 0 while a session waits "
                + "in its grace period for a link to join.", peers, linksByPeer::get));
        out.add(gauge("invmux_direct_memory_used_bytes", "Direct (off-heap) buffer memory in use.",
                ONE, x -> directMemory()));
        out.add(counter("invmux_refused_links", "Links refused at the handshake by this sidecar's listeners.",
                ONE, x -> runtime.refusedLinks()));
        out.add(gauge("invmux_insecure", "1 when security.insecure accepts links without TLS or a pre-shared key.",
                ONE, x -> insecure ? 1 : 0));
        runtime.tls().ifPresent(tls -> {
            List<Row<String>> reasons = new ArrayList<>();
            for (String reason : List.of("expired", "untrusted", "name", "peer-refused", "plaintext", "damaged",
                    "other")) {
                reasons.add(new Row<>(Labels.of("reason", reason), reason));
            }
            Map<String, Long> failures = tls.failures();
            out.add(counter("invmux_tls_refused_links", "TLS links refused (dialed and accepted), by reason.",
                    reasons, r -> failures.getOrDefault(r, 0L)));
            out.add(counter("invmux_tls_reloads", "Times the TLS certificate, key or CA files were loaded again.",
                    ONE, x -> tls.reloads()));
        });
        out.add(counter("invmux_forwarded_connections", "TCP connections carried by the forwarding proxy.",
                ONE, x -> forwardedConnections.getAsLong()));
        List<Row<Long>> refused = new ArrayList<>();
        bounds.counts().forEach((bound, n) -> refused.add(new Row<>(Labels.of("bound", bound), n)));
        out.add(counter("invmux_refusals", "Calls, streams and connections refused or ended at a resource bound of the "
                + "local API or the proxy, by the bound (its config key; docs/SECURITY.md).", refused, n -> n));
        bounds.gauges().forEach((name, g) -> out.add(gauge(name, g.help(), ONE, x -> g.value().getAsLong())));
        record SessionCounter(String name, String help, ToDoubleFunction<SessionStats> value) {
        }
        for (SessionCounter c : List.of(
                new SessionCounter("invmux_session_sent_bytes", "Stream bytes sent to the peer, first transmissions "
                        + "only.", SessionStats::bytesSent),
                new SessionCounter("invmux_session_received_bytes", "Stream bytes received from the peer, duplicates "
                        + "excluded.", SessionStats::bytesReceived),
                new SessionCounter("invmux_session_sent_chunks", "Chunks sent to the peer, first transmissions only.",
                        SessionStats::chunksSent),
                new SessionCounter("invmux_session_resent_chunks", "Chunks sent again after their link was lost or "
                        + "went quiet.", SessionStats::chunksResent),
                new SessionCounter("invmux_session_duplicate_chunks", "Chunks received that carried only bytes "
                        + "already held.", SessionStats::duplicateChunks),
                new SessionCounter("invmux_session_copied_bytes", "Stream bytes in the second copies of redundant "
                        + "streams' chunks.", SessionStats::bytesCopied))) {
            out.add(counter(c.name(), c.help(), sessions, c.value()));
        }
        List<Row<Long>> byClass = new ArrayList<>();
        for (Row<SessionStats> r : sessions) {
            r.stats().bytesSentByClass().forEach((c, n) ->
                    byClass.add(new Row<>(r.labels().add("class", c.name().toLowerCase(Locale.ROOT)), n)));
        }
        out.add(counter("invmux_session_class_sent_bytes", "Stream bytes sent to the peer, first transmissions only, "
                + "by the streams' traffic class (bulk, interactive, redundant).", byClass, Long::doubleValue));
        out.add(gauge("invmux_session_open_streams", "Streams open in the session.", sessions,
                SessionStats::openStreams));
        out.add(gauge("invmux_session_reorder_high_water_bytes",
                "Most bytes one stream held out of order at once.", sessions, SessionStats::reorderHighWaterMark));
        List<Row<Long>> listenerLimits = new ArrayList<>();
        withZeros(LISTENER_LIMITS, runtime.listenerLimitsHit()).forEach((k, v) ->
                listenerLimits.add(new Row<>(Labels.of("limit", k), v)));
        out.add(counter("invmux_listener_limit_hits", "Times a limit of the peer listener was reached, by knob.",
                listenerLimits, Long::doubleValue));
        List<Row<Long>> sessionLimits = new ArrayList<>();
        for (Row<SessionStats> r : sessions) {
            withZeros(SESSION_LIMITS, r.stats().limitsHit()).forEach((k, v) ->
                    sessionLimits.add(new Row<>(r.labels().add("limit", k), v)));
        }
        out.add(counter("invmux_session_limit_hits", "Times a limit of the session was reached, by knob.",
                sessionLimits, Long::doubleValue));
        out.add(gauge("invmux_session_reorder_bytes", "Bytes the session holds out of order now.", sessions,
                SessionStats::reorderBytes));
        out.add(counter("invmux_link_sent_bytes", "Stream bytes sent on the link.", links,
                SessionStats.LinkStats::bytesSent));
        out.add(counter("invmux_link_received_bytes", "Stream bytes received on the link.", links,
                SessionStats.LinkStats::bytesReceived));
        out.add(counter("invmux_link_sent_chunks", "Chunks sent on the link.", links,
                SessionStats.LinkStats::chunksSent));
        out.add(counter("invmux_link_reinjected_chunks", "Chunks sent on the link and then re-sent elsewhere.",
                links, SessionStats.LinkStats::chunksReinjected));
        out.add(gauge("invmux_link_rtt_seconds", "Smoothed heartbeat round-trip time.", links,
                l -> l.quality().latency().toNanos() / 1e9));
        out.add(gauge("invmux_link_rate_bytes_per_second", "Measured delivery rate.", links,
                l -> l.quality().bandwidth()));
        out.add(gauge("invmux_link_loss_ratio", "Heartbeat loss, 0 to 1.", links, l -> l.quality().packetLoss()));
        out.add(gauge("invmux_link_score", "Link quality score, 0 to 1.", links, l -> l.quality().score()));
        out.add(gauge("invmux_link_queued_bytes", "Bytes sent on the link that have not reached the peer yet.", links,
                SessionStats.LinkStats::queuedBytes));
        out.add(gauge("invmux_link_healthy", "1 when the link is schedulable (healthy, degraded, probation).",
                links, l -> l.state().schedulable() ? 1 : 0));
        out.add(gauge("invmux_link_budget_limit_bytes", "Most stream bytes a capped link may be sent in 24 hours "
                + "(maxBytesPerDay).", budgets, b -> b.limitBytes()));
        out.add(gauge("invmux_link_budget_used_bytes", "Stream bytes a capped link was sent in the last 24 hours.",
                budgets, io.invmux.LinkBudget::usedBytes));
        out.add(counter("invmux_link_budget_exhaustions", "Times a capped link's budget ran out; while it is out "
                + "the link carries data only if no other link can.", budgets, io.invmux.LinkBudget::exhaustions));
        addCompression(out, compression);
        return new MetricSnapshots(out);
    }

    /** Per-session compression: bytes before and after, chunks, CPU time, and the adaptive decisions. */
    private static void addCompression(List<MetricSnapshot> out, List<Row<CompressionStats>> rows) {
        out.add(counter("invmux_compression_offered_bytes", "Stream bytes offered to compression (before).", rows,
                CompressionStats::bytesIn));
        out.add(counter("invmux_compression_sent_bytes", "Bytes sent after compression, chunk headers included.",
                rows, CompressionStats::bytesOut));
        out.add(gauge("invmux_compression_ratio", "Bytes sent per byte offered (below 1: compression saves).",
                rows, CompressionStats::ratio));
        out.add(counter("invmux_compression_compressed_chunks", "Chunks sent compressed.", rows,
                CompressionStats::chunksCompressed));
        out.add(counter("invmux_compression_raw_chunks", "Chunks sent raw (did not shrink, or not tried).", rows,
                CompressionStats::chunksRaw));
        out.add(counter("invmux_compression_cpu_seconds", "CPU time spent compressing (failed tries included).",
                rows, c -> c.compressNanos() / 1e9));
        out.add(counter("invmux_compression_received_bytes", "Bytes received by decompression, headers included.",
                rows, CompressionStats::receivedBytes));
        out.add(counter("invmux_compression_received_raw_bytes", "Stream bytes decompression delivered.", rows,
                CompressionStats::receivedRawBytes));
        out.add(counter("invmux_decompression_cpu_seconds", "CPU time spent decompressing.", rows,
                c -> c.decompressNanos() / 1e9));
        out.add(gauge("invmux_compression_active", "1 while the session compresses (0: it found compression, not "
                + "the path, limits goodput).", rows, c -> c.pathCompressing() ? 1 : 0));
        out.add(counter("invmux_compression_path_switches", "Times the session turned compression off or on.",
                rows, CompressionStats::pathSwitches));
        out.add(gauge("invmux_compression_raw_streams", "Streams sending raw because their data did not shrink.",
                rows, CompressionStats::streamsSendingRaw));
        out.add(counter("invmux_compression_stream_switches_to_raw", "Times a stream stopped trying to compress.",
                rows, CompressionStats::streamSwitchesToRaw));
    }

    /** One labelled data point's source: its labels and the object its value is read from. */
    private record Row<S>(Labels labels, S stats) {
    }

    private static <S> CounterSnapshot counter(String name, String help, List<Row<S>> rows, ToDoubleFunction<S> f) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        for (Row<S> r : rows) {
            b.dataPoint(CounterDataPointSnapshot.builder().labels(r.labels()).value(f.applyAsDouble(r.stats())).build());
        }
        return b.build();
    }

    private static <S> GaugeSnapshot gauge(String name, String help, List<Row<S>> rows, ToDoubleFunction<S> f) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        for (Row<S> r : rows) {
            b.dataPoint(GaugeDataPointSnapshot.builder().labels(r.labels()).value(f.applyAsDouble(r.stats())).build());
        }
        return b.build();
    }

    private GaugeSnapshot buildInfo() {
        return GaugeSnapshot.builder().name("invmux_build_info")
                .help("Always 1; the labels say which InvMux build and Java runtime this sidecar runs.")
                .dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("version", version,
                        "java_version", System.getProperty("java.version"),
                        "java_vendor", String.valueOf(System.getProperty("java.vendor")))).value(1).build())
                .build();
    }

    private static Map<String, Long> withZeros(List<String> keys, Map<String, Long> counts) {
        Map<String, Long> all = new TreeMap<>(counts);
        keys.forEach(k -> all.putIfAbsent(k, 0L));
        return all;
    }

    /** Link ids are decimal numbers within their session; anything else sorts last. */
    private static long linkOrder(String id) {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    private static final Comparator<List<String>> LIST_ORDER = (a, b) -> {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = a.get(i).compareTo(b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    };

    /** Two sessions of one peer as one: counters and current amounts added, the high-water mark the larger. */
    private static SessionStats sum(SessionStats a, SessionStats b) {
        Map<String, Long> limits = new TreeMap<>(a.limitsHit());
        b.limitsHit().forEach((k, v) -> limits.merge(k, v, Long::sum));
        Map<TrafficClass, Long> byClass = new EnumMap<>(a.bytesSentByClass());
        b.bytesSentByClass().forEach((k, v) -> byClass.merge(k, v, Long::sum));
        return new SessionStats(a.bytesSent() + b.bytesSent(), a.bytesReceived() + b.bytesReceived(),
                a.chunksSent() + b.chunksSent(), a.chunksReceived() + b.chunksReceived(),
                a.chunksResent() + b.chunksResent(), a.bytesResent() + b.bytesResent(),
                a.duplicateChunks() + b.duplicateChunks(),
                Math.max(a.reorderHighWaterMark(), b.reorderHighWaterMark()), a.openStreams() + b.openStreams(),
                a.refusedLinks() + b.refusedLinks(), List.of(), a.reorderBytes() + b.reorderBytes(),
                a.reorderChunks() + b.reorderChunks(), limits, byClass, a.bytesCopied() + b.bytesCopied());
    }

    /** Two sessions' compression as one: counters added, compressing while either does. */
    private static CompressionStats sum(CompressionStats a, CompressionStats b) {
        return new CompressionStats(a.name(), a.bytesIn() + b.bytesIn(), a.bytesOut() + b.bytesOut(),
                a.chunksCompressed() + b.chunksCompressed(), a.chunksRaw() + b.chunksRaw(),
                a.compressNanos() + b.compressNanos(), a.receivedBytes() + b.receivedBytes(),
                a.receivedRawBytes() + b.receivedRawBytes(), a.decompressNanos() + b.decompressNanos(),
                a.pathCompressing() || b.pathCompressing(), a.pathSwitches() + b.pathSwitches(),
                a.streamsSendingRaw() + b.streamsSendingRaw(), a.streamSwitchesToRaw() + b.streamSwitchesToRaw());
    }

    private static long directMemory() {
        long used = 0;
        for (java.lang.management.BufferPoolMXBean pool
                : java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)) {
            if ("direct".equals(pool.getName())) {
                used += pool.getMemoryUsed();
            }
        }
        return Math.max(used, io.netty.util.internal.PlatformDependent.usedDirectMemory());
    }

}
