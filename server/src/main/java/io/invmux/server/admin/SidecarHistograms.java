package io.invmux.server.admin;

import io.invmux.Connection;
import io.invmux.HealthState;
import io.invmux.MeasurementListener;
import io.invmux.Session;
import io.invmux.server.runtime.RuntimeListener;
import io.invmux.server.runtime.ServiceRouter;
import io.invmux.server.runtime.SidecarRuntime;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The sidecar's event metrics, counted as things happen rather than read at scrape time: histograms of heartbeat
 * round trips, failover gaps, accept waits and stream durations, and the count of links that went down. Base unit
 * seconds. Their peer and link labels are those of {@link SidecarMetrics} (without the {@code #n} suffix: links on
 * one path share a histogram) and, since these series outlive the sessions that made them, capped: after
 * {@link #MAX_LABEL_SETS} distinct (peer, link) pairs, new ones are counted under {@code peer="other",link="other"}.
 * Thread-safe: observed from event loops and the router's timer.
 */
public final class SidecarHistograms implements RuntimeListener {
    static final int MAX_LABEL_SETS = 256;
    static final String OTHER = "other";

    private static final double[] RTT_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1, 2.5, 5};
    private static final double[] FAILOVER_BUCKETS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final double[] ACCEPT_BUCKETS = {0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
        30};
    private static final double[] STREAM_BUCKETS = {0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600};

    private final SidecarRuntime runtime;
    private final Histogram rtt;
    private final Histogram failover;
    private final Histogram acceptWait;
    private final Histogram streamDuration;
    private final Counter linkDowns;
    /** (peer, link) pairs with series so far; guarded by itself. */
    private final Set<List<String>> labelSets = new HashSet<>();

    public SidecarHistograms(SidecarRuntime runtime, PrometheusRegistry registry) {
        this.runtime = runtime;
        rtt = Histogram.builder().name("invmux_link_heartbeat_rtt_seconds")
                .help("Heartbeat round trips, each sample unsmoothed, by peer and link path.")
                .labelNames("peer", "link").classicOnly().classicUpperBounds(RTT_BUCKETS).register(registry);
        failover = Histogram.builder().name("invmux_failover_gap_seconds")
                .help("From a link's loss or suspicion until the peer acknowledged every chunk that was in flight "
                        + "on it, sent again on the other links.")
                .labelNames("peer", "link").classicOnly().classicUpperBounds(FAILOVER_BUCKETS).register(registry);
        acceptWait = Histogram.builder().name("invmux_accept_wait_seconds")
                .help("How long a stream from a peer waited for an application to accept it; outcome accepted or "
                        + "expired (limits.acceptTimeout).")
                .labelNames("outcome").classicOnly().classicUpperBounds(ACCEPT_BUCKETS).register(registry);
        streamDuration = Histogram.builder().name("invmux_stream_duration_seconds")
                .help("Lifetime of the streams the sidecar carried, by peer, who opened them (direction local or "
                        + "peer) and how they ended (outcome ok or failed).")
                .labelNames("peer", "direction", "outcome").classicOnly().classicUpperBounds(STREAM_BUCKETS)
                .register(registry);
        linkDowns = Counter.builder().name("invmux_link_downs")
                .help("Links of a peer that went down: lost, or removed on purpose, by link path.")
                .labelNames("peer", "link").register(registry);
        // Shown from the start at zero: an alert on increase() sees the first expiry.
        acceptWait.labelValues("accepted");
        acceptWait.labelValues("expired");
        runtime.router().setAcceptWaits(this::acceptWaited);
    }

    private void acceptWaited(boolean accepted, long nanos) {
        acceptWait.labelValues(accepted ? "accepted" : "expired").observe(nanos / 1e9);
    }

    @Override
    public void sessionStarted(Session session, String peer) {
        session.addMeasurementListener(new MeasurementListener() {
            @Override
            public void onRoundTrip(Connection link, long rttNanos) {
                List<String> l = labels(session, link);
                rtt.labelValues(l.get(0), l.get(1)).observe(rttNanos / 1e9);
            }

            @Override
            public void onFailover(Connection lost, long gapNanos, int chunks) {
                List<String> l = labels(session, lost);
                failover.labelValues(l.get(0), l.get(1)).observe(gapNanos / 1e9);
            }
        });
    }

    @Override
    public void linkStateChanged(Session session, String peer, Connection link, HealthState from, HealthState to) {
        List<String> l = labels(session, link);
        if (to == HealthState.DEAD && from != HealthState.DEAD) {
            linkDowns.labelValues(l.get(0), l.get(1)).inc();
        } else if (from == HealthState.DEAD) {
            linkDowns.labelValues(l.get(0), l.get(1)); // at zero from the link's first appearance
        }
    }

    @Override
    public void streamEnded(Session session, String peer, boolean opened, long durationNanos, boolean failed) {
        String p = capped(List.of(LinkLabels.peer(session.isClient(), session, peer), "")).get(0);
        streamDuration.labelValues(p, opened ? "local" : "peer", failed ? "failed" : "ok")
                .observe(durationNanos / 1e9);
    }

    /** The (peer, link) labels of a link of {@code session}, capped. */
    private List<String> labels(Session session, Connection link) {
        SidecarRuntime.Tracked t = runtime.session(session.id());
        String peer = t == null ? "" : LinkLabels.peer(t.dialer(), session, t.peer());
        return capped(List.of(peer, LinkLabels.path(session.isClient(), link.remoteAddress(), link.localAddress())));
    }

    private List<String> capped(List<String> labels) {
        synchronized (labelSets) {
            if (labelSets.contains(labels) || labelSets.size() < MAX_LABEL_SETS && labelSets.add(labels)) {
                return labels;
            }
        }
        return List.of(OTHER, OTHER);
    }
}
