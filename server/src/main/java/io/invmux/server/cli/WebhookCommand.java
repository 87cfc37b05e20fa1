package io.invmux.server.cli;

import io.invmux.server.config.ConfigException;
import io.invmux.server.webhook.AdmissionHandler;
import io.invmux.server.webhook.WebhookServer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code invmux webhook}: the mutating admission webhook that injects the sidecar into pods annotated
 * {@code invmux.io/inject: "true"} (k8s/webhook/ deploys it). Runs until SIGTERM or SIGINT.
 */
@Command(name = "webhook", mixinStandardHelpOptions = true,
        description = {"Serve the mutating admission webhook (HTTPS, AdmissionReview v1, JSON patch) that adds the "
                + "InvMux native sidecar to pods annotated invmux.io/inject: \"true\".",
                "Flags are defaults; a pod's invmux.io/ annotations win. A bad annotation denies the pod."})
public final class WebhookCommand implements Callable<Integer> {
    @Mixin
    InjectionOptions options;

    @Option(names = "--listen", defaultValue = "0.0.0.0:8443", description = "host:port to serve HTTPS on (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--tls-cert", required = true, description = "PEM certificate chain (cert-manager's tls.crt); re-read when it changes.")
    Path certFile;

    @Option(names = "--tls-key", required = true, description = "PEM PKCS#8 private key (tls.key); re-read when it changes.")
    Path keyFile;

    @Override
    public Integer call() throws Exception {
        int colon = listen.lastIndexOf(':');
        int port;
        try {
            port = colon < 0 ? -1 : Integer.parseInt(listen.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) {
            System.err.println("invmux webhook: --listen " + listen + ": must be host:port");
            return ConfigException.EXIT_CODE;
        }
        String host = listen.substring(0, colon).replaceAll("^\\[|]$", "");
        WebhookServer server;
        try {
            server = WebhookServer.start(new InetSocketAddress(host, port), certFile, keyFile,
                    new AdmissionHandler(options.injector()));
        } catch (java.security.GeneralSecurityException | java.io.IOException e) {
            System.err.println("invmux webhook: cannot serve: " + e.getMessage());
            return ConfigException.EXIT_CODE;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            server.close();
            stopped.countDown();
        };
        Signal.handle(new Signal("TERM"), sig -> new Thread(stop, "invmux-stop").start());
        Signal.handle(new Signal("INT"), sig -> new Thread(stop, "invmux-stop").start());
        System.out.println("invmux webhook serving on https://" + server.address().getHostString() + ":"
                + server.address().getPort());
        System.out.flush();
        stopped.await();
        return 0;
    }
}
