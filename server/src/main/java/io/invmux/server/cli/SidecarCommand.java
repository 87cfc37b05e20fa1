package io.invmux.server.cli;

import io.invmux.server.Sidecar;
import io.invmux.server.config.ConfigException;
import io.invmux.server.config.ConfigLoader;
import io.invmux.server.config.SidecarConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code invmux sidecar}: runs the sidecar until SIGTERM or SIGINT, then drains and exits 0. */
@Command(name = "sidecar", description = "Run the sidecar (embedded defaults when no config is given).",
        mixinStandardHelpOptions = true)
public final class SidecarCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, description = "YAML config file (default: $INVMUX_CONFIG, else none).")
    Path config;

    @Option(names = "--set", description = "Override one key, e.g. --set api.address=127.0.0.1:7701 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--print-config", description = "Print the effective config (secrets redacted) and exit.")
    boolean printConfig;

    @Override
    public Integer call() throws Exception {
        Path file = config;
        if (file == null && System.getenv(ConfigLoader.CONFIG_FILE_ENV) != null
                && !System.getenv(ConfigLoader.CONFIG_FILE_ENV).isBlank()) {
            file = Path.of(System.getenv(ConfigLoader.CONFIG_FILE_ENV));
        }
        SidecarConfig cfg;
        try {
            cfg = ConfigLoader.load(file, System.getenv(), overrides);
        } catch (ConfigException e) {
            System.err.println("invmux: invalid configuration:");
            System.err.println(e.getMessage());
            return ConfigException.EXIT_CODE;
        }
        if (printConfig) {
            System.out.print(cfg.toYaml(true));
            return 0;
        }
        boolean json = Logs.configure(cfg.logging());
        Sidecar sidecar = Sidecar.start(cfg);
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable drain = () -> {
            sidecar.drainAndClose(cfg.limits().drainTimeout());
            stopped.countDown();
        };
        Signal.handle(new Signal("TERM"), sig -> new Thread(drain, "invmux-drain").start());
        Signal.handle(new Signal("INT"), sig -> new Thread(drain, "invmux-drain").start());
        String running = "invmux sidecar '" + cfg.identity() + "' running; API on " + sidecar.apiAddress()
                + (sidecar.adminAddress() == null ? "" : ", admin on " + sidecar.adminAddress());
        if (json) {
            // Every line a log pipeline reads must be JSON: this one too.
            LoggerFactory.getLogger(SidecarCommand.class).info(running);
        } else {
            System.out.println(running);
            System.out.flush();
        }
        stopped.await();
        return 0;
    }
}
