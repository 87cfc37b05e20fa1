package io.invmux.server.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The admin HTTP port: {@code /metrics} (Prometheus text format), {@code /ready} (200 once listeners are bound
 * and configured peers dialed, 503 before and while draining), {@code /live} (200 while the process runs).
 * Binds loopback by default (the Kubernetes manifests put it on the pod IP for Prometheus); carries no API token
 * (like the health service), so it serves nothing else: only GET and HEAD of exactly these paths, which change
 * nothing; every other path is 404, every other method 405.
 */
public final class AdminServer implements AutoCloseable {
    private final HttpServer server;

    public AdminServer(InetSocketAddress address, PrometheusRegistry registry, BooleanSupplier ready)
            throws IOException {
        server = HttpServer.create(address, 0);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "invmux-admin");
            t.setDaemon(true);
            return t;
        }));
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        server.createContext("/metrics", ex -> {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            writer.write(body, registry.scrape(), EscapingScheme.DEFAULT);
            reply(ex, 200, PrometheusTextFormatWriter.CONTENT_TYPE, body.toByteArray());
        });
        server.createContext("/ready", ex -> {
            boolean ok = ready.getAsBoolean();
            reply(ex, ok ? 200 : 503, "text/plain; charset=utf-8",
                    (ok ? "ready\n" : "not ready\n").getBytes(StandardCharsets.UTF_8));
        });
        server.createContext("/live", ex -> reply(ex, 200, "text/plain; charset=utf-8",
                "live\n".getBytes(StandardCharsets.UTF_8)));
        server.start();
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static void reply(HttpExchange ex, int code, String type, byte[] body) throws IOException {
        try (ex) {
            // A context matches every path below it too; only the exact path is served.
            if (!ex.getRequestURI().getPath().equals(ex.getHttpContext().getPath())) {
                byte[] msg = "not found: this port serves /metrics, /ready and /live\n"
                        .getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(404, msg.length);
                ex.getResponseBody().write(msg);
                return;
            }
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                byte[] msg = "only GET and HEAD\n".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                ex.sendResponseHeaders(405, msg.length);
                ex.getResponseBody().write(msg);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", type);
            boolean head = "HEAD".equals(ex.getRequestMethod());
            ex.sendResponseHeaders(code, head ? -1 : body.length);
            if (!head) {
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(body);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
