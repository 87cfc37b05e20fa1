package io.invmux.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The admin port over real HTTP: what it serves, and that it serves nothing else (it carries no token). */
class AdminServerTest {
    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<String> send(AdminServer admin, String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.address().getPort() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesMetricsReadyAndLiveToGetAndNothingElse() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        Counter.builder().name("probe_events").help("h").register(registry).inc();
        AtomicBoolean ready = new AtomicBoolean();
        try (AdminServer admin = new AdminServer(new InetSocketAddress("127.0.0.1", 0), registry, ready::get)) {
            assertThat(send(admin, "GET", "/metrics").body()).contains("probe_events_total 1.0");
            assertThat(send(admin, "GET", "/ready").statusCode()).isEqualTo(503);
            ready.set(true);
            assertThat(send(admin, "GET", "/ready").statusCode()).isEqualTo(200);
            assertThat(send(admin, "GET", "/live").statusCode()).isEqualTo(200);
            assertThat(send(admin, "HEAD", "/metrics").statusCode()).isEqualTo(200);
            for (String path : new String[] {"/", "/metrics/x", "/readyz", "/live/../debug", "/admin"}) {
                assertThat(send(admin, "GET", path).statusCode()).as(path).isEqualTo(404);
            }
            for (String method : new String[] {"POST", "PUT", "DELETE"}) {
                assertThat(send(admin, method, "/metrics").statusCode()).as(method).isEqualTo(405);
            }
        }
    }
}
