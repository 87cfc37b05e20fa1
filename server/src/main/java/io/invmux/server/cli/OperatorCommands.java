package io.invmux.server.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DeleteLinkRequest;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.DialLinkResponse;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListLinksResponse;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.ListSessionsResponse;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.Session;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import io.invmux.server.config.Units;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Operator commands: they talk to a running sidecar through its API. */
final class OperatorCommands {
    private OperatorCommands() {
    }

    /** Exit code for an API call the sidecar refused or could not answer. */
    static final int API_ERROR = 3;

    static int report(PrintStream err, StatusRuntimeException e) {
        err.println("invmux: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
        return API_ERROR;
    }

    static List<Link> allLinks(ConnectionServiceGrpc.ConnectionServiceBlockingStub stub, String session) {
        List<Link> links = new ArrayList<>();
        String token = "";
        do {
            ListLinksResponse r = stub.listLinks(ListLinksRequest.newBuilder().setSessionId(session)
                    .setPageToken(token).build());
            links.addAll(r.getLinksList());
            token = r.getNextPageToken();
        } while (!token.isEmpty());
        return links;
    }

    @Command(name = "links", description = "List the links of every session (or of one).", mixinStandardHelpOptions = true)
    static final class Links implements Callable<Integer> {
        @Mixin
        ApiClient api;

        @Mixin
        OutputOptions output;

        @Option(names = "--session", description = "Only this session.", defaultValue = "")
        String session;

        @Override
        public Integer call() {
            ManagedChannel ch = api.channel();
            try {
                List<Link> links = allLinks(ConnectionServiceGrpc.newBlockingStub(ch)
                        .withCallCredentials(api.credentials()), session);
                System.out.print(output.isTable() ? LinkTable.render(links)
                        : output.render(OutputOptions.list("links", links)));
                return 0;
            } catch (StatusRuntimeException e) {
                return report(System.err, e);
            } finally {
                ApiClient.shutdown(ch);
            }
        }
    }

    @Command(name = "sessions", description = "List the sessions.", mixinStandardHelpOptions = true)
    static final class Sessions implements Callable<Integer> {
        @Mixin
        ApiClient api;

        @Mixin
        OutputOptions output;

        @Override
        public Integer call() {
            ManagedChannel ch = api.channel();
            try {
                var stub = ConnectionServiceGrpc.newBlockingStub(ch).withCallCredentials(api.credentials());
                List<Session> sessions = new ArrayList<>();
                String token = "";
                do {
                    ListSessionsResponse r = stub.listSessions(ListSessionsRequest.newBuilder().setPageToken(token)
                            .build());
                    sessions.addAll(r.getSessionsList());
                    token = r.getNextPageToken();
                } while (!token.isEmpty());
                System.out.print(output.isTable() ? table(sessions)
                        : output.render(OutputOptions.list("sessions", sessions)));
                return 0;
            } catch (StatusRuntimeException e) {
                return report(System.err, e);
            } finally {
                ApiClient.shutdown(ch);
            }
        }

        private static String table(List<Session> sessions) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "%-32s %-16s %-7s %5s %7s %12s %12s %8s%n", "SESSION", "PEER", "ROLE", "LINKS", "STREAMS",
                    "SENT(MiB)", "RECV(MiB)", "RESENT"));
            for (Session s : sessions) {
                sb.append(String.format(Locale.ROOT, "%-32s %-16s %-7s %5d %7d %12.1f %12.1f %8d%n",
                        s.getSessionId(), s.getPeer(), s.getDialer() ? "dialer" : "accepter", s.getLinksCount(),
                        s.getOpenStreams(), s.getBytesSent() / 1048576.0, s.getBytesReceived() / 1048576.0,
                        s.getChunksResent()));
            }
            return sb.toString();
        }
    }

    @Command(name = "link", description = "Add or remove a link.", mixinStandardHelpOptions = true,
            subcommands = {LinkAdd.class, LinkRemove.class})
    static final class LinkCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            System.err.println("invmux link: give a subcommand: add or remove");
            return 2;
        }
    }

    @Command(name = "add", description = "Dial one more link to a peer.", mixinStandardHelpOptions = true)
    static final class LinkAdd implements Callable<Integer> {
        @Mixin
        ApiClient api;

        @Mixin
        OutputOptions output;

        @Option(names = "--peer", required = true, description = "Peer name.")
        String peer;

        @Option(names = "--address", required = true, description = "Link URI, e.g. tcp://10.0.2.2:7700?bind=10.0.2.1")
        String address;

        @Option(names = "--priority", defaultValue = "0", description = "Scheduling tier (default ${DEFAULT-VALUE}).")
        int priority;

        @Option(names = "--weight", defaultValue = "1", description = "Weight (default ${DEFAULT-VALUE}).")
        double weight;

        @Override
        public Integer call() {
            ManagedChannel ch = api.channel();
            try {
                DialLinkResponse r = ConnectionServiceGrpc.newBlockingStub(ch).withCallCredentials(api.credentials())
                        .dialLink(DialLinkRequest.newBuilder().setPeer(peer).setAddress(address)
                                .setPriority(priority).setWeight(weight).build());
                if (output.isTable()) {
                    System.out.printf("link %s of session %s up (%s)%n", r.getLink().getLinkId(),
                            r.getLink().getSessionId(), r.getLink().getRemoteAddress());
                } else {
                    System.out.print(output.render(OutputOptions.tree(r)));
                }
                return 0;
            } catch (StatusRuntimeException e) {
                return report(System.err, e);
            } finally {
                ApiClient.shutdown(ch);
            }
        }
    }

    @Command(name = "remove", description = "Remove a link gracefully.", mixinStandardHelpOptions = true)
    static final class LinkRemove implements Callable<Integer> {
        @Mixin
        ApiClient api;

        @Mixin
        OutputOptions output;

        @Option(names = "--session", required = true, description = "Session id.")
        String session;

        @Option(names = "--link", required = true, description = "Link id.")
        String link;

        @Override
        public Integer call() {
            ManagedChannel ch = api.channel();
            try {
                DeleteLinkRequest request = DeleteLinkRequest.newBuilder().setSessionId(session).setLinkId(link)
                        .build();
                ConnectionServiceGrpc.newBlockingStub(ch).withCallCredentials(api.credentials()).deleteLink(request);
                if (output.isTable()) {
                    System.out.printf("link %s of session %s removed%n", link, session);
                } else {
                    // DeleteLinkResponse is empty: say which link went, by the ids the request named.
                    System.out.print(output.render(OutputOptions.tree(request)));
                }
                return 0;
            } catch (StatusRuntimeException e) {
                return report(System.err, e);
            } finally {
                ApiClient.shutdown(ch);
            }
        }
    }

    @Command(name = "watch", description = {"A live table of the links, refreshed in place.",
            "With -o json or yaml: every health event as it comes, one JSON object per line or one YAML document "
                    + "each."}, mixinStandardHelpOptions = true)
    static final class Watch implements Callable<Integer> {
        /** The sidecar's floor for quality samples (WatchHealthRequest.quality_interval). */
        static final Duration MIN_INTERVAL = Duration.ofMillis(100);
        static final Duration MAX_INTERVAL = Duration.ofHours(1);

        @Mixin
        ApiClient api;

        @Mixin
        OutputOptions output;

        @Spec
        CommandSpec spec;

        @Option(names = "--interval", defaultValue = "1s", converter = DurationConverter.class, paramLabel = "DURATION",
                description = "Refresh and quality-sample interval, e.g. 500ms, 1s, 10s (default ${DEFAULT-VALUE}; "
                        + "at least 100ms).")
        Duration interval;

        @Option(names = "--count", defaultValue = "0",
                description = "Stop after this many refreshes, or events with -o json|yaml (0: never).")
        int count;

        @Option(names = "--plain", description = "Print each table below the last instead of redrawing in place.")
        boolean plain;

        /** Deprecated spelling of {@code --interval} in milliseconds, kept so that scripts keep working. */
        @Option(names = "--interval-ms", hidden = true, paramLabel = "MILLISECONDS")
        Long intervalMs;

        /** {@code --interval}, or the deprecated {@code --interval-ms} when given. */
        Duration interval() {
            return DurationConverter.orMillis(spec, interval, intervalMs, "--interval-ms");
        }

        @Override
        public Integer call() {
            Duration interval = interval();
            DurationConverter.warnIfDeprecated(spec, intervalMs, "--interval-ms", "--interval", interval);
            if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_INTERVAL) > 0) {
                throw new ParameterException(spec.commandLine(), "--interval " + Units.formatDuration(interval)
                        + ": must be at least " + Units.formatDuration(MIN_INTERVAL) + " and at most "
                        + Units.formatDuration(MAX_INTERVAL));
            }
            if (count < 0) {
                throw new ParameterException(spec.commandLine(), "--count " + count + ": must be 0 (never) or more");
            }
            ManagedChannel ch = api.channel();
            try {
                Iterator<WatchHealthResponse> events = MonitorServiceGrpc.newBlockingStub(ch)
                        .withCallCredentials(api.credentials())
                        .watchHealth(WatchHealthRequest.newBuilder().setQualityInterval(
                                com.google.protobuf.Duration.newBuilder().setSeconds(interval.getSeconds())
                                        .setNanos(interval.getNano())).build());
                if (!output.isTable()) {
                    for (int printed = 0; events.hasNext() && (count == 0 || printed < count); printed++) {
                        System.out.print(output.renderItem(OutputOptions.tree(events.next())));
                        System.out.flush();
                    }
                    return 0;
                }
                Map<String, Link> links = new LinkedHashMap<>();
                long lastDraw = 0;
                int draws = 0;
                while (events.hasNext()) {
                    WatchHealthResponse e = events.next();
                    switch (e.getEventCase()) {
                        case SNAPSHOT -> e.getSnapshot().getSessionsList().forEach(s ->
                                s.getLinksList().forEach(l -> links.put(key(l), l)));
                        case LINK_UP -> links.put(key(e.getLinkUp().getLink()), e.getLinkUp().getLink());
                        case LINK_DOWN -> links.put(key(e.getLinkDown().getLink()), e.getLinkDown().getLink());
                        case STATE_CHANGE -> links.put(key(e.getStateChange().getLink()), e.getStateChange().getLink());
                        case QUALITY -> links.put(key(e.getQuality().getLink()), e.getQuality().getLink());
                        case SESSION -> {
                            if (e.getSession().getKind() == io.invmux.proto.v1.SessionEvent.Kind.KIND_ENDED) {
                                links.values().removeIf(l -> l.getSessionId().equals(
                                        e.getSession().getSession().getSessionId()));
                            }
                        }
                        default -> {
                        }
                    }
                    long now = System.nanoTime();
                    if (now - lastDraw >= interval.toNanos() / 10 * 9) {
                        lastDraw = now;
                        System.out.print((plain ? "" : "\033[H\033[2J") + LinkTable.render(links.values()));
                        System.out.flush();
                        if (count > 0 && ++draws >= count) {
                            return 0;
                        }
                    }
                }
                return 0;
            } catch (StatusRuntimeException e) {
                return report(System.err, e);
            } finally {
                ApiClient.shutdown(ch);
            }
        }

        private static String key(Link l) {
            return l.getSessionId() + "/" + l.getLinkId();
        }
    }
}
