package io.invmux.server.proxy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain java.net server on 127.0.0.1 running {@link Behaviour} on its own thread for each accepted connection:
 * the "local service" behind a {@link TcpServiceConnector} or a sidecar's service. Test helper; threads are daemons.
 */
public final class TestServer implements AutoCloseable {
    /** What the server does with one connection; failures are kept for {@link #failures()}. */
    public interface Behaviour {
        void serve(Socket socket) throws Exception;
    }

    /** Echoes until EOF, then half-closes and closes. */
    public static final Behaviour ECHO = s -> {
        try (s) {
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = s.getInputStream().read(buf)) >= 0) {
                s.getOutputStream().write(buf, 0, n);
            }
            s.shutdownOutput();
        }
    };

    private final ServerSocket server;
    private final Behaviour behaviour;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();

    private TestServer(Behaviour behaviour) throws IOException {
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        this.behaviour = behaviour;
        Thread acceptor = new Thread(this::acceptLoop, "test-server-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static TestServer start(Behaviour behaviour) throws IOException {
        return new TestServer(behaviour);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    public int accepted() {
        return accepted.get();
    }

    public List<Throwable> failures() {
        return failures;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            sockets.add(s);
            Thread t = new Thread(() -> {
                try {
                    behaviour.serve(s);
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "test-server-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
