package io.invmux.client.examples;

import io.invmux.client.InvMuxClient;
import io.invmux.client.InvMuxStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * A small InvMux app for demos and the Java side of the cross-language tests (client-sdk/run-live-tests.sh runs it
 * with {@code java -cp target/classes:target/test-classes:$(cat target/test-classpath.txt)}).
 * <pre>
 *   EchoMain open --peer pod-b --service echo --bytes 16777216   # send N bytes, read the echo back
 *   EchoMain accept --service echo                               # accept one stream, echo it back
 * </pre>
 * Prints one line, "RESULT role=open bytes=N sent_sha256=H echo_sha256=H" resp. "RESULT role=accept bytes=N
 * sha256=H", and exits 1 when anything failed (open: also when the echo differs). The sidecar is
 * $INVMUX_GRPC_ENDPOINT (token $INVMUX_API_TOKEN).
 */
public final class EchoMain {
    private EchoMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: EchoMain open|accept [--peer P] [--service S] [--bytes N]");
            System.exit(2);
        }
        String peer = "pod-b";
        String service = "echo";
        long size = 16 << 20;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--peer" -> peer = args[i + 1];
                case "--service" -> service = args[i + 1];
                case "--bytes" -> size = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        int code;
        try (InvMuxClient client = InvMuxClient.create()) {
            client.waitForSidecar(Duration.ofSeconds(60));
            code = switch (args[0]) {
                case "open" -> open(client, peer, service, size);
                case "accept" -> accept(client, service);
                default -> 2;
            };
        } catch (Exception e) {
            System.err.println("EchoMain: " + e);
            code = 1;
        }
        System.exit(code);
    }

    private static int accept(InvMuxClient client, String service) throws Exception {
        try (InvMuxStream s = client.acceptStream(service)) {
            MessageDigest h = MessageDigest.getInstance("SHA-256");
            InputStream in = s.inputStream();
            OutputStream out = s.outputStream();
            byte[] buf = new byte[256 * 1024];
            long n = 0;
            int r;
            while ((r = in.read(buf)) >= 0) {
                h.update(buf, 0, r);
                out.write(buf, 0, r);
                n += r;
            }
            s.closeWrite();
            System.out.printf("RESULT role=accept bytes=%d sha256=%s peer=%s service=%s%n", n,
                    HexFormat.of().formatHex(h.digest()), s.info().getPeer(), s.info().getService());
        } // close() lets the call end, so the echo's tail reaches the sidecar
        return 0;
    }

    private static int open(InvMuxClient client, String peer, String service, long size) throws Exception {
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        MessageDigest echo = MessageDigest.getInstance("SHA-256");
        long n = 0;
        try (InvMuxStream s = client.openStream(peer, service, Map.of("lang", "java"))) {
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try (OutputStream out = s.outputStream()) {
                    Random rnd = new Random(1);
                    byte[] block = new byte[1 << 20];
                    for (long off = 0; off < size; off += block.length) {
                        int len = (int) Math.min(block.length, size - off);
                        rnd.nextBytes(block);
                        sent.update(block, 0, len);
                        out.write(block, 0, len);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            byte[] buf = new byte[256 * 1024];
            int r;
            while ((r = s.inputStream().read(buf)) >= 0) {
                echo.update(buf, 0, r);
                n += r;
            }
            writing.join();
        }
        String sh = HexFormat.of().formatHex(sent.digest());
        String eh = HexFormat.of().formatHex(echo.digest());
        System.out.printf("RESULT role=open bytes=%d sent_sha256=%s echo_sha256=%s%n", n, sh, eh);
        return n == size && sh.equals(eh) ? 0 : 1;
    }
}
