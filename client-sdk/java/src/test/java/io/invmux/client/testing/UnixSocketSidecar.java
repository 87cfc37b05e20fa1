package io.invmux.client.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One real sidecar process, alone (no peers, no listeners), with its API on a Unix socket: for the clients that
 * reach a sidecar there. Started from the same jar as {@link SidecarPair}; {@link #close()} stops it.
 */
public final class UnixSocketSidecar implements AutoCloseable {
    private final Process process;

    private UnixSocketSidecar(Process process) {
        this.process = process;
    }

    /** Starts it with its API on {@code socket} (an absolute path) and returns once the API is up. */
    public static UnixSocketSidecar start(Path socket) throws Exception {
        Path jar = SidecarPair.findOrBuildJar(SidecarPair.repoRoot());
        Path log = SidecarPair.logDirectory().resolve("unix.log");
        Process p = SidecarPair.launchSidecar(jar, log, "--set", "identity=pod-u", "--set",
                "api.address=unix://" + socket.toAbsolutePath(), "--set", "admin.address=", "--set", "listeners=[]");
        UnixSocketSidecar sidecar = new UnixSocketSidecar(p);
        String up = "sidecar 'pod-u' API on " + socket.toAbsolutePath();
        long deadline = System.currentTimeMillis() + SidecarPair.START_TIMEOUT_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            if (text.contains(up)) {
                return sidecar;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("sidecar exited with " + p.exitValue() + "; its log " + log + ":\n"
                        + text);
            }
            Thread.sleep(50);
        }
        sidecar.close();
        throw new IllegalStateException("sidecar API not up on " + socket + " after "
                + SidecarPair.START_TIMEOUT_MILLIS + " ms; log " + log);
    }

    /** SIGTERM (it drains and exits), SIGKILL after 20 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
