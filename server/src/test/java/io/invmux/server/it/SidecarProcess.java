package io.invmux.server.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A sidecar running in its own JVM from the packaged jar, as in production. Its output is collected (and echoed
 * with a prefix); {@link #stop()} sends SIGTERM and waits for the exit code.
 */
public final class SidecarProcess implements AutoCloseable {
    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    public final String name;
    public final int apiPort;

    private SidecarProcess(String name, Process process, int apiPort) {
        this.name = name;
        this.process = process;
        this.apiPort = apiPort;
        Thread pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.add(line);
                    System.out.println("[" + name + "] " + line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "out-" + name);
        pump.setDaemon(true);
        pump.start();
    }

    public static Path jar() {
        Path jar = Path.of(System.getProperty("invmux.jar", "target/invmux-server-0.1.0-SNAPSHOT-all.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("sidecar jar " + jar + " missing: run the build's package phase first");
        }
        return jar;
    }

    /** Ports handed out by {@link #freePort()} in this JVM: never handed out twice. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A loopback port free now and not handed out before in this JVM: the kernel may give the same ephemeral port
     * to two probes in a row once the first probe's socket is closed, and a test that asks for an API port and a
     * link port would then start a sidecar whose two listeners collide.
     */
    public static int freePort() throws IOException {
        while (true) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (HANDED_OUT.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
    }

    /** Starts {@code invmux sidecar} with these {@code --set} overrides (api.address is chosen here). */
    public static SidecarProcess start(String name, List<String> settings, List<String> extraArgs) throws IOException {
        int api = freePort();
        return start(name, "127.0.0.1:" + api, api, settings, extraArgs);
    }

    /** Starts {@code invmux sidecar} with its API on this Unix socket ({@link #apiPort} is then -1). */
    public static SidecarProcess startOnUnixSocket(String name, Path socket, List<String> settings)
            throws IOException {
        return start(name, "unix://" + socket, -1, settings, List.of());
    }

    /** As {@link #startOnUnixSocket(String, Path, List)}, the process running with this umask (e.g. "000"). */
    public static SidecarProcess startOnUnixSocket(String name, Path socket, List<String> settings, String umask)
            throws IOException {
        return start(name, "unix://" + socket, -1, settings, List.of(), List.of("sh", "-c",
                "umask " + umask + " && exec \"$@\"", "sh"));
    }

    private static SidecarProcess start(String name, String apiAddress, int api, List<String> settings,
            List<String> extraArgs) throws IOException {
        return start(name, apiAddress, api, settings, extraArgs, List.of());
    }

    private static SidecarProcess start(String name, String apiAddress, int api, List<String> settings,
            List<String> extraArgs, List<String> launcher) throws IOException {
        List<String> cmd = new ArrayList<>(launcher);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", jar().toString(), "sidecar"));
        cmd.addAll(extraArgs);
        List<String> all = new ArrayList<>(settings);
        all.add("identity=" + name);
        all.add("api.address=" + apiAddress);
        for (String s : all) {
            cmd.add("--set");
            cmd.add(s);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        SidecarProcess sp = new SidecarProcess(name, p, api);
        sp.awaitLine("running; API on", 30);
        return sp;
    }

    /** Runs the sidecar command to completion (for configs expected to be refused); returns the exit code. */
    public static Result run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-jar", jar().toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("invmux " + args + " did not finish");
        }
        return new Result(p.exitValue(), out);
    }

    public record Result(int exitCode, String output) {
    }

    public void awaitLine(String fragment, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            for (String l : output) {
                if (l.contains(fragment)) {
                    return;
                }
            }
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + process.exitValue() + ":\n"
                        + String.join("\n", output));
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException(name + " printed no '" + fragment + "' within " + seconds + " s:\n"
                + String.join("\n", output));
    }

    public String target() {
        return "127.0.0.1:" + apiPort;
    }

    public List<String> output() {
        return output;
    }

    /** SIGTERM, then the exit code (the sidecar drains first). */
    public int stop() throws InterruptedException {
        // Through the handle: Process.destroy() would also close our end of its output, losing what it logs
        // while it drains.
        process.toHandle().destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return -1;
        }
        return process.exitValue();
    }

    /** SIGKILL: the process dies at once, as on a crash or an OOM kill. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        }
    }
}
