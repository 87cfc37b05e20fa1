package io.invmux.server.webhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code invmux webhook}'s HTTPS server (the JDK's): {@code POST /mutate} takes an AdmissionReview and answers one
 * ({@link AdmissionHandler}); {@code GET /healthz} answers 200 for the kubelet's probes. TLS 1.2 and 1.3 only.
 */
public final class WebhookServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WebhookServer.class);
    /** The API server sends a whole pod; pods are limited to about 1.5 MiB by etcd, so this leaves room. */
    static final int MAX_BODY = 8 * 1024 * 1024;

    private final HttpsServer server;
    private final ExecutorService executor;
    private final PemKeyManager keys;

    private WebhookServer(HttpsServer server, ExecutorService executor, PemKeyManager keys) {
        this.server = server;
        this.executor = executor;
        this.keys = keys;
    }

    /** Binds {@code address} (port 0: any free port), serving the PEM certificate and key, and starts. */
    public static WebhookServer start(InetSocketAddress address, Path certFile, Path keyFile, AdmissionHandler handler)
            throws IOException, GeneralSecurityException {
        return start(address, new PemKeyManager(certFile, keyFile), handler);
    }

    /** As {@link #start(InetSocketAddress, Path, Path, AdmissionHandler)}, with the certificate files' reader. */
    static WebhookServer start(InetSocketAddress address, PemKeyManager keys, AdmissionHandler handler)
            throws IOException, GeneralSecurityException {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(new KeyManager[] {keys}, null, null);
        HttpsServer server = HttpsServer.create(address, 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = tls.getDefaultSSLParameters();
                p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
                params.setSSLParameters(p);
            }
        });
        ObjectMapper json = new ObjectMapper();
        server.createContext("/mutate", ex -> {
            try (ex) {
                if (!"POST".equals(ex.getRequestMethod())) {
                    send(ex, 405, "text/plain", "POST an AdmissionReview here\n");
                    return;
                }
                byte[] body = readBody(ex.getRequestBody());
                if (body == null) {
                    send(ex, 413, "text/plain", "the body is larger than " + MAX_BODY + " bytes\n");
                    return;
                }
                try {
                    send(ex, 200, "application/json", json.writeValueAsString(handler.review(body)));
                } catch (AdmissionHandler.BadReview e) {
                    send(ex, 400, "text/plain", e.getMessage() + "\n");
                }
            } catch (RuntimeException e) {
                log.error("admission request failed", e);
                throw e;
            }
        });
        server.createContext("/healthz", ex -> {
            try (ex) {
                send(ex, 200, "text/plain", "ok\n");
            }
        });
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "invmux-webhook");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.start();
        log.info("webhook on https://{}:{} (certificate subject {})", server.getAddress().getHostString(),
                server.getAddress().getPort(), keys.certificate().getSubjectX500Principal());
        return new WebhookServer(server, executor, keys);
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static byte[] readBody(InputStream in) throws IOException {
        byte[] b = in.readNBytes(MAX_BODY + 1);
        return b.length > MAX_BODY ? null : b;
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type + (type.startsWith("text/") ? "; charset=utf-8" : ""));
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Stops accepting, lets requests in flight finish for up to a second. */
    @Override
    public void close() {
        server.stop(1);
        executor.shutdown();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
