package io.invmux.server.admin;

import io.invmux.SessionStats;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus view of the sidecar, read from the data plane's own counters at scrape time (nothing is counted
 * twice): per-session and per-link counters and gauges, labelled with session id, peer and link id.
 */
public final class SidecarMetrics implements MultiCollector {
    private final SidecarRuntime runtime;
    private final LongSupplier forwardedConnections;
    private final Bounds bounds;
    private final boolean insecure;

    /** The single data point of a metric without labels. */
    private static final List<Row<Void>> ONE = List.of(new Row<>(Labels.EMPTY, null));

    /**
     * @param bounds the local API's and proxy's bounds (their refusals and gauges)
     * @param insecure whether security.insecure lets unauthenticated links in (the {@code invmux_insecure} gauge)
     */
    public SidecarMetrics(SidecarRuntime runtime, LongSupplier forwardedConnections, Bounds bounds, boolean insecure) {
        this.runtime = runtime;
        this.forwardedConnections = forwardedConnections;
        this.bounds = bounds;
        this.insecure = insecure;
    }


    @Override
    public MetricSnapshots collect() {
        List<Row<SessionStats>> sessions = new ArrayList<>();
        List<Row<SessionStats.LinkStats>> links = new ArrayList<>();
        List<Row<CompressionStats>> compression = new ArrayList<>();
        for (SidecarRuntime.Tracked t : runtime.sessions()) {
            SessionStats s = t.session().stats();
            Labels sl = Labels.of("session", t.session().id(), "peer", t.peer());
            sessions.add(new Row<>(sl, s));
            StreamCompression.stats(t.session()).ifPresent(c -> compression.add(new Row<>(Labels.of("session",
                    t.session().id(), "peer", t.peer(), "middleware", c.name()), c)));
            for (SessionStats.LinkStats l : s.links()) {
                links.add(new Row<>(Labels.of("session", t.session().id(), "peer", t.peer(), "link", l.id(),
                        "remote", l.remoteAddress()), l));
            }
        }
        List<MetricSnapshot> out = new ArrayList<>();
        out.add(gauge("invmux_sessions", "Sessions alive.", ONE, x -> runtime.sessions().size()));
        java.lang.management.MemoryUsage heap = java.lang.management.ManagementFactory.getMemoryMXBean()
                .getHeapMemoryUsage();
        out.add(gauge("invmux_jvm_heap_used_bytes", "Java heap in use.", ONE, x -> heap.getUsed()));
        out.add(gauge("invmux_jvm_heap_max_bytes", "Java heap limit.", ONE, x -> heap.getMax()));
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
        Map<String, ToDoubleFunction<SessionStats>> sessionCounters = new LinkedHashMap<>();
        sessionCounters.put("invmux_session_sent_bytes", SessionStats::bytesSent);
        sessionCounters.put("invmux_session_received_bytes", SessionStats::bytesReceived);
        sessionCounters.put("invmux_session_sent_chunks", SessionStats::chunksSent);
        sessionCounters.put("invmux_session_resent_chunks", SessionStats::chunksResent);
        sessionCounters.put("invmux_session_duplicate_chunks", SessionStats::duplicateChunks);
        for (Map.Entry<String, ToDoubleFunction<SessionStats>> e : sessionCounters.entrySet()) {
            out.add(counter(e.getKey(), e.getKey().replace('_', ' ') + ".", sessions, e.getValue()));
        }
        out.add(gauge("invmux_session_open_streams", "Streams open in the session.", sessions,
                SessionStats::openStreams));
        out.add(gauge("invmux_session_reorder_high_water_bytes",
                "Most bytes one stream held out of order at once.", sessions, SessionStats::reorderHighWaterMark));
        List<Row<Long>> listenerLimits = new ArrayList<>();
        runtime.listenerLimitsHit().forEach((k, v) -> listenerLimits.add(new Row<>(Labels.of("limit", k), v)));
        out.add(counter("invmux_listener_limit_hits", "Times a limit of the peer listener was reached, by knob.",
                listenerLimits, Long::doubleValue));
        List<Row<Long>> sessionLimits = new ArrayList<>();
        for (Row<SessionStats> r : sessions) {
            r.stats().limitsHit().forEach((k, v) -> sessionLimits.add(new Row<>(r.labels().add("limit", k), v)));
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
        out.add(gauge("invmux_link_queued_bytes", "Bytes sent on the link and not yet acknowledged.", links,
                SessionStats.LinkStats::queuedBytes));
        out.add(gauge("invmux_link_healthy", "1 when the link is schedulable (healthy, degraded, probation).",
                links, l -> l.state().schedulable() ? 1 : 0));
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
