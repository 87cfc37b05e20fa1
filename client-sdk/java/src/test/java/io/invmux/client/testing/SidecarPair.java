package io.invmux.client.testing;

import io.invmux.client.InvMuxClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two real sidecar processes started from the built jar: pod-b accepts peer links on two loopback ports; pod-a
 * has peer "pod-b" with two links, the first straight to pod-b, the second through a {@link TcpProxy} (so that
 * a test can cut it). Apps on A open streams to "pod-b"; apps on B accept them.
 * <p>
 * The jar is {@code -Dinvmux.jar}, $INVMUX_JAR, or {@code server/target/invmux-server-*-all.jar}; when there is
 * none, it is built with {@code ./mvnw -B -q -pl server -am package -DskipTests} (or the test fails saying so).
 */
public final class SidecarPair implements AutoCloseable {
    public static final String PEER = "pod-b";
    private static final Pattern API = Pattern.compile("sidecar '[^']+' API on /127\\.0\\.0\\.1:(\\d+)");
    static final long START_TIMEOUT_MILLIS = 90_000;

    private final List<Process> processes = new ArrayList<>();
    private final Path logDir;
    private Path jar;
    private Process processA;
    private String[] argsA;
    private int starts;
    private TcpProxy proxy;
    private String endpointA;
    private String endpointB;
    private int directLinkPort;

    private SidecarPair(Path logDir) {
        this.logDir = logDir;
    }

    /** pod-a's API: apps there open streams to {@link #PEER}. */
    public String endpointA() {
        return endpointA;
    }

    /** pod-b's API: apps there accept streams. */
    public String endpointB() {
        return endpointB;
    }

    /** The proxy the second link of pod-a goes through. */
    public TcpProxy proxy() {
        return proxy;
    }

    /** pod-b's link port that pod-a's first link dials directly. */
    public int directLinkPort() {
        return directLinkPort;
    }

    public InvMuxClient clientA() {
        return InvMuxClient.builder().endpoint(endpointA).token(null).build();
    }

    public InvMuxClient clientB() {
        return InvMuxClient.builder().endpoint(endpointB).token(null).build();
    }

    public static SidecarPair start() throws Exception {
        Path root = repoRoot();
        Path jar = findOrBuildJar(root);
        SidecarPair pair = new SidecarPair(logDirectory());
        try {
            pair.startAll(jar);
        } catch (Exception | Error e) {
            pair.close();
            throw e;
        }
        return pair;
    }

    private void startAll(Path jar) throws Exception {
        this.jar = jar;
        int[] ports = freePorts(2);
        directLinkPort = ports[0];
        Process b = launch(jar, "b", "--set", "identity=pod-b", "--set", "api.address=127.0.0.1:0",
                "--set", "admin.address=", "--set", "listeners.0=tcp://127.0.0.1:" + ports[0],
                "--set", "listeners.1=tcp://127.0.0.1:" + ports[1]);
        endpointB = "127.0.0.1:" + awaitApiPort(b, logDir.resolve("b.log"));
        proxy = new TcpProxy(ports[1]);
        argsA = new String[] {"--set", "identity=pod-a", "--set", "admin.address=", "--set", "listeners=[]",
            "--set", "peers.0.name=" + PEER, "--set", "peers.0.links.0.address=tcp://127.0.0.1:" + ports[0],
            "--set", "peers.0.links.1.address=tcp://127.0.0.1:" + proxy.port()};
        processA = launchA("127.0.0.1:0", "a");
        endpointA = "127.0.0.1:" + awaitApiPort(processA, logDir.resolve("a.log"));
        try (InvMuxClient cb = clientB()) {
            cb.waitForSidecar(Duration.ofSeconds(60));
        }
        awaitReadyA();
    }

    private Process launchA(String api, String log) throws IOException {
        List<String> args = new ArrayList<>(List.of(argsA));
        args.addAll(List.of("--set", "api.address=" + api));
        return launch(jar, log, args.toArray(String[]::new));
    }

    /**
     * Stops pod-a (SIGTERM, as in a rolling restart) and starts it again on the same API port; returns once it is
     * ready with its 2 links.
     */
    public void restartA() throws Exception {
        processA.destroy();
        if (!processA.waitFor(30, TimeUnit.SECONDS)) {
            processA.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        processes.remove(processA);
        String log = "a-" + (++starts);
        processA = launchA(endpointA, log);
        awaitApiPort(processA, logDir.resolve(log + ".log"));
        awaitReadyA();
    }

    private void awaitReadyA() throws Exception {
        try (InvMuxClient ca = clientA()) {
            ca.waitForSidecar(Duration.ofSeconds(60));
            long deadline = System.currentTimeMillis() + 30_000;
            while (ca.listLinks().size() < 2) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("pod-a has no 2 links after 30 s: " + ca.listLinks()
                            + "; logs in " + logDir);
                }
                Thread.sleep(50);
            }
        }
    }

    private Process launch(Path jar, String name, String... args) throws IOException {
        Process p = launchSidecar(jar, logDir.resolve(name + ".log"), args);
        processes.add(p);
        return p;
    }

    /** Starts a sidecar process from {@code jar} with {@code args}, its output to {@code log}. */
    static Process launchSidecar(Path jar, Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+ExitOnOutOfMemoryError", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "-Dio.netty.tryReflectionSetAccessible=true", "-jar", jar.toString(), "sidecar"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        // The sidecar takes every INVMUX_* variable as configuration and refuses unknown ones (such as the SDKs'
        // INVMUX_GRPC_ENDPOINT): start it without any.
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("INVMUX_"));
        return pb.start();
    }

    /** Where the sidecars' logs go: target/sidecars of the module. */
    static Path logDirectory() throws IOException {
        Path logs = Paths.get(System.getProperty("basedir", "."), "target", "sidecars");
        Files.createDirectories(logs);
        return logs;
    }

    private int awaitApiPort(Process p, Path log) throws Exception {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher m = API.matcher(text);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("sidecar exited with " + p.exitValue() + "; its log " + log + ":\n"
                        + text);
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("sidecar API not up after " + START_TIMEOUT_MILLIS + " ms; log " + log);
    }

    private static int[] freePorts(int n) throws IOException {
        ServerSocket[] s = new ServerSocket[n];
        int[] ports = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                s[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ports[i] = s[i].getLocalPort();
            }
        } finally {
            for (ServerSocket x : s) {
                if (x != null) {
                    x.close();
                }
            }
        }
        return ports;
    }

    static Path repoRoot() {
        Path dir = Paths.get(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("mvnw")) && Files.isDirectory(d.resolve("server"))) {
                return d;
            }
        }
        throw new IllegalStateException("cannot find the repository root (with mvnw and server/) above " + dir);
    }

    static Path findOrBuildJar(Path root) throws Exception {
        String given = System.getProperty("invmux.jar", System.getenv("INVMUX_JAR"));
        if (given != null && !given.isBlank()) {
            Path p = Paths.get(given);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("the sidecar jar " + p + " (-Dinvmux.jar or $INVMUX_JAR) is missing");
            }
            return p;
        }
        Path found = findJar(root);
        if (found != null) {
            return found;
        }
        Path log = root.resolve("client-sdk/java/target/sidecar-jar-build.log");
        Files.createDirectories(log.getParent());
        Process build = new ProcessBuilder(root.resolve("mvnw").toString(), "-B", "-q", "-pl", "server", "-am",
                "package", "-DskipTests").directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean finished = build.waitFor(10, TimeUnit.MINUTES);
        if (!finished) {
            build.destroyForcibly();
        }
        found = findJar(root);
        if (found == null) {
            throw new IllegalStateException("no sidecar jar in " + root.resolve("server/target") + " and building it "
                    + "failed (log: " + log + "); build it with: ./mvnw -B -q -pl server -am package -DskipTests");
        }
        return found;
    }

    private static Path findJar(Path root) throws IOException {
        Path target = root.resolve("server/target");
        if (!Files.isDirectory(target)) {
            return null;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(target, "invmux-server-*-all.jar")) {
            for (Path p : ds) {
                return p;
            }
        }
        return null;
    }

    /** SIGTERM to both (they drain and exit), SIGKILL after 20 s. */
    @Override
    public void close() {
        if (proxy != null) {
            proxy.close();
        }
        for (int i = processes.size() - 1; i >= 0; i--) {
            processes.get(i).destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
    }
}
