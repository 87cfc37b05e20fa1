package io.invmux.bench;

import static io.invmux.bench.BenchSupport.fmt;
import static io.invmux.bench.BenchSupport.log;

import io.invmux.bench.BenchSupport.Args;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.tls.TlsConnectionFactory;
import io.invmux.internal.tls.TlsCredentials;
import io.invmux.tls.CertificateAuthority;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * CPU cost of the TLS layer alone, on one thread and without sockets, so that the figure hardly depends on what
 * else the machine runs: 32 KiB DATA frames through {@link FrameEncoder} and the link's client {@link SslHandler}
 * (as {@code tls://} links build it), the records fed to the server {@link SslHandler}, the plaintext counted and
 * released; against the same without the two SslHandlers. Reports CPU seconds per GiB of each and their
 * difference (what TLS adds per GiB, encryption and decryption together), reps interleaved.
 *
 * <pre>
 *   --bytes SIZE   bytes per rep, default 1 GiB
 *   --reps N       reps of each, default 5 (after 2 warm-up reps)
 *   --batch N      frames written between flushes, default 8 (one link write burst)
 *   --wrap-sizes LIST  also each of these SslHandler wrap data sizes (e.g. 16k,64k), same run, for comparison
 * </pre>
 */
public final class TlsPipelineBench {
    private static final int CHUNK = 32 * 1024;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static String suite = "?"; // [the bench thread] the cipher suite of the last TLS rep

    private TlsPipelineBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        boolean quick = args.flag("quick");
        long bytes = args.sizeValue("bytes", quick ? 64L << 20 : 1L << 30);
        int reps = args.intValue("reps", quick ? 1 : 5);
        int batch = args.intValue("batch", 8);
        List<Integer> wraps = new ArrayList<>();
        for (String w : args.value("wrap-sizes", "").split(",")) {
            if (!w.isBlank()) {
                wraps.add((int) Args.parseSize(w.trim()));
            }
        }
        Path pki = Files.createTempDirectory("invmux-bench-pki");
        try {
            CertificateAuthority ca = CertificateAuthority.create("bench CA");
            Path caFile = pki.resolve("ca.crt");
            ca.writeCertificate(caFile);
            TlsCredentials client = credentials(ca, pki, "client", caFile);
            TlsCredentials server = credentials(ca, pki, "server", caFile);
            log("== tls-pipeline: CPU per GiB of 32 KiB DATA frames through FrameEncoder, with and without the "
                    + "client and server SslHandler (" + TlsCredentials.providerName() + "), one thread, "
                    + (bytes >> 20) + " MiB per rep, flush every " + batch + " frames");
            List<Double> plain = new ArrayList<>();
            List<Double> tls = new ArrayList<>();
            for (int rep = -2; rep < (quick ? 1 : reps); rep++) {
                double p = rep(null, null, bytes, batch, null);
                double t = rep(client, server, bytes, batch, null);
                if (!wraps.isEmpty()) {
                    StringBuilder line = new StringBuilder("           TLS adds, by wrap size:");
                    for (int w : wraps) {
                        line.append(' ').append(w).append(": ")
                                .append(fmt(rep(client, server, bytes, batch, w) - p, 3));
                    }
                    log(line.toString());
                }
                log(String.format("  %-8s plain %s s/GiB  tls %s s/GiB  TLS adds %s s/GiB", rep < 0 ? "warm-up"
                        : "rep " + (rep + 1), fmt(p, 3), fmt(t, 3), fmt(t - p, 3)));
                if (rep >= 0) {
                    plain.add(p);
                    tls.add(t);
                }
            }
            double p = BenchSupport.median(plain);
            double t = BenchSupport.median(tls);
            log("  median (" + suite + "): plain " + fmt(p, 3) + " s/GiB, tls " + fmt(t, 3) + " s/GiB, TLS adds " + fmt(t - p, 3)
                    + " s/GiB");
            BenchSupport.summary("tls-pipeline", "plain_cpu_s_per_gib", fmt(p, 3), "tls_cpu_s_per_gib", fmt(t, 3),
                    "tls_adds_s_per_gib", fmt(t - p, 3));
        } finally {
            try (var files = Files.list(pki)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(pki);
        }
    }

    private static TlsCredentials credentials(CertificateAuthority ca, Path dir, String name, Path caFile)
            throws Exception {
        Path cert = dir.resolve(name + ".crt");
        Path key = dir.resolve(name + ".key");
        ca.issue(name).write(cert, key);
        return new TlsCredentials(cert, key, caFile);
    }

    /**
     * CPU seconds of this thread per GiB moved; TLS when the credentials are given, with the links' SslHandler
     * settings, or another wrap data size when {@code wrap} is not null.
     */
    private static double rep(TlsCredentials client, TlsCredentials server, long bytes, int batch, Integer wrap) {
        Sink sink = new Sink();
        EmbeddedChannel out;
        EmbeddedChannel in;
        if (client == null) {
            out = new EmbeddedChannel(FrameEncoder.INSTANCE);
            in = new EmbeddedChannel(sink);
        } else {
            SslHandler c = client.contexts().client().newHandler(PooledByteBufAllocator.DEFAULT, "server", 0);
            SslHandler s = server.contexts().server().newHandler(PooledByteBufAllocator.DEFAULT);
            TlsConnectionFactory.configure(c);
            TlsConnectionFactory.configure(s);
            if (wrap != null) {
                c.setWrapDataSize(wrap);
                s.setWrapDataSize(wrap);
            }
            out = new EmbeddedChannel(c, FrameEncoder.INSTANCE);
            in = new EmbeddedChannel(s, sink);
            for (int i = 0; i < 20 && !(c.handshakeFuture().isDone() && s.handshakeFuture().isDone()); i++) {
                pump(out, in);
                pump(in, out);
            }
            if (!c.handshakeFuture().isSuccess() || !s.handshakeFuture().isSuccess()) {
                throw new IllegalStateException("handshake failed: " + c.handshakeFuture().cause() + " / "
                        + s.handshakeFuture().cause());
            }
            suite = c.engine().getSession().getCipherSuite();
        }
        byte[] random = new byte[CHUNK];
        new Random(7).nextBytes(random);
        ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer(CHUNK).writeBytes(random);
        long frames = bytes / CHUNK;
        long start = THREADS.getCurrentThreadCpuTime();
        try {
            for (long i = 0; i < frames; i++) {
                out.write(new DataFrame(1, 0, i * CHUNK, chunk.retainedDuplicate()));
                if ((i + 1) % batch == 0 || i == frames - 1) {
                    out.flush();
                    pump(out, in);
                }
            }
        } finally {
            chunk.release();
        }
        double cpu = (THREADS.getCurrentThreadCpuTime() - start) / 1e9;
        if (sink.bytes < frames * CHUNK) {
            throw new IllegalStateException("only " + sink.bytes + " of " + frames * CHUNK + " bytes arrived");
        }
        out.finishAndReleaseAll();
        in.finishAndReleaseAll();
        return cpu * (1L << 30) / (frames * CHUNK);
    }

    /** Moves everything {@code from} wrote into {@code to} as reads. */
    private static void pump(EmbeddedChannel from, EmbeddedChannel to) {
        Object msg;
        while ((msg = from.readOutbound()) != null) {
            to.writeInbound(msg);
        }
    }

    /** Counts and releases what arrives. */
    @ChannelHandler.Sharable
    private static final class Sink extends ChannelInboundHandlerAdapter {
        long bytes; // [the bench thread]

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                bytes += b.readableBytes();
            }
            ReferenceCountUtil.release(msg);
        }
    }
}
