package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A TCP echo on loopback, as the local application behind a sidecar's service; each connection on its own task. */
final class EchoServer implements AutoCloseable {
    private final ServerSocket socket;

    private EchoServer(ServerSocket socket) {
        this.socket = socket;
    }

    static EchoServer start() throws IOException {
        EchoServer echo = new EchoServer(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
        Thread t = new Thread(echo::serve, "echo");
        t.setDaemon(true);
        t.start();
        return echo;
    }

    int port() {
        return socket.getLocalPort();
    }

    private void serve() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                CompletableFuture.runAsync(() -> {
                    try (s) {
                        s.getInputStream().transferTo(s.getOutputStream());
                    } catch (IOException e) {
                        // the test sees the short echo
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    /**
     * Sends {@code data} to {@code port} on loopback (a forward in front of an echo) and asserts the same bytes come
     * back, read while writing so that neither direction waits for the other.
     */
    static void roundTrip(int port, byte[] data) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
                try {
                    return in.readNBytes(data.length);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            out.write(data);
            out.flush();
            assertThat(back.get(60, TimeUnit.SECONDS)).isEqualTo(data);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
