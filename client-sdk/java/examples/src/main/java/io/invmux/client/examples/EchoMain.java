package io.invmux.client.examples;

import io.invmux.client.InvMuxClient;
import io.invmux.client.InvMuxStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A small InvMux app for demos and the Java side of the cross-language tests:
 * <pre>
 *   EchoMain open --peer pod-b --service echo --bytes 16777216   # send N bytes, read the echo back
 *   EchoMain accept --service echo                               # accept one stream, echo it back
 * </pre>
 * Prints one line, "RESULT role=open bytes=N sent_sha256=H echo_sha256=H" resp. "RESULT role=accept bytes=N
 * sha256=H", and exits 1 when anything failed (open: also when the echo differs). The sidecar is
 * $INVMUX_GRPC_ENDPOINT (token $INVMUX_API_TOKEN). Its two ends, {@link #echoBack} and {@link #sendAndReadEcho},
 * serve the SDK's live tests too.
 */
public final class EchoMain {
    private static final int BUFFER = 256 * 1024;

    private EchoMain() {
    }

    /** What the acceptor's end read (and wrote back). */
    public record Echoed(long bytes, String sha256) {
    }

    /** What the opener's end sent and read back. */
    public record Sent(long bytes, String sentSha256, long echoBytes, String echoSha256) {
        /** Whether every byte came back. */
        public boolean echoed() {
            return echoBytes == bytes && echoSha256.equals(sentSha256);
        }
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
            Echoed e = echoBack(s);
            System.out.printf("RESULT role=accept bytes=%d sha256=%s peer=%s service=%s%n", e.bytes(), e.sha256(),
                    s.info().getPeer(), s.info().getService());
        } // close() lets the call end, so the echo's tail reaches the sidecar
        return 0;
    }

    private static int open(InvMuxClient client, String peer, String service, long size) throws Exception {
        Sent sent;
        try (InvMuxStream s = client.openStream(peer, service, Map.of("lang", "java"))) {
            sent = sendAndReadEcho(s, size, 1);
        }
        System.out.printf("RESULT role=open bytes=%d sent_sha256=%s echo_sha256=%s%n", sent.echoBytes(),
                sent.sentSha256(), sent.echoSha256());
        return sent.echoed() ? 0 : 1;
    }

    /** The acceptor's end: writes back everything it reads, then half-closes. */
    public static Echoed echoBack(InvMuxStream s) throws IOException {
        MessageDigest h = sha256();
        InputStream in = s.inputStream();
        OutputStream out = s.outputStream();
        byte[] buf = new byte[BUFFER];
        long n = 0;
        int r;
        while ((r = in.read(buf)) >= 0) {
            h.update(buf, 0, r);
            out.write(buf, 0, r);
            n += r;
        }
        s.closeWrite();
        return new Echoed(n, HexFormat.of().formatHex(h.digest()));
    }

    /**
     * The opener's end: sends {@code size} bytes (pseudo-random from {@code seed}; then half-closes) on a thread of
     * its own while reading the echo here, which would otherwise stall both sides on full windows.
     */
    public static Sent sendAndReadEcho(InvMuxStream s, long size, long seed) throws IOException {
        MessageDigest sent = sha256();
        CompletableFuture<Void> writing = new CompletableFuture<>();
        Thread writer = new Thread(() -> {
            try (OutputStream out = s.outputStream()) { // close = half-close
                Random rnd = new Random(seed);
                byte[] block = new byte[1 << 20];
                for (long off = 0; off < size; off += block.length) {
                    int len = (int) Math.min(block.length, size - off);
                    rnd.nextBytes(block);
                    sent.update(block, 0, len);
                    out.write(block, 0, len);
                }
                writing.complete(null);
            } catch (IOException | RuntimeException e) {
                writing.completeExceptionally(e);
            }
        }, "echo-writer");
        writer.start();
        MessageDigest echo = sha256();
        byte[] buf = new byte[BUFFER];
        long n = 0;
        int r;
        while ((r = s.inputStream().read(buf)) >= 0) {
            echo.update(buf, 0, r);
            n += r;
        }
        try {
            writing.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        return new Sent(size, HexFormat.of().formatHex(sent.digest()), n, HexFormat.of().formatHex(echo.digest()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
