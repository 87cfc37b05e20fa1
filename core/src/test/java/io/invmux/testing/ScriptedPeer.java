package io.invmux.testing;

import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.FrameDecoder;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.HelloFrame;
import io.invmux.internal.session.Handshake;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * One end of a link played by a test, frame by frame, over a real socket: it writes frames it is told to and
 * decodes what the other end sends, so a test can check exactly what went over the wire (as okhttp's
 * MockHttp2Peer does for HTTP/2).
 */
public final class ScriptedPeer implements AutoCloseable {
    /** Encodes floods: short-lived heap buffers, not tracked (paranoid leak tracking costs a stack trace each). */
    private static final ByteBufAllocator FLOOD_ALLOC = new io.netty.buffer.UnpooledByteBufAllocator(false, true);

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final EmbeddedChannel decoder;

    private ScriptedPeer(Socket socket, int maxChunk) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.decoder = new EmbeddedChannel(new FrameDecoder(maxChunk));
    }

    public static ScriptedPeer connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setTcpNoDelay(true);
        return new ScriptedPeer(s, 1024 * 1024);
    }

    /**
     * Connects with a small socket receive buffer (no auto-tuning): a peer that reads nothing then soon makes the
     * other end's writes queue up in its own buffers rather than in the kernel's.
     */
    public static ScriptedPeer connectSlowReader(int port) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        s.setTcpNoDelay(true);
        return new ScriptedPeer(s, 1024 * 1024);
    }

    /** Connects from {@code from} (another loopback address, 127.0.0.2, ..., is another source). */
    public static ScriptedPeer connect(int port, InetAddress from) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port, from, 0);
        s.setTcpNoDelay(true);
        return new ScriptedPeer(s, 1024 * 1024);
    }

    /** Accepts one connection on {@code server}. */
    public static ScriptedPeer accept(ServerSocket server, Duration timeout) throws IOException {
        server.setSoTimeout((int) timeout.toMillis());
        Socket s = server.accept();
        s.setTcpNoDelay(true);
        return new ScriptedPeer(s, 1024 * 1024);
    }

    /**
     * Plays the dialing side of a new session's first link (no pre-shared key): preface, HELLO request carrying a
     * session secret, the reply checked, the proof sent. Frames may follow at once.
     *
     * @param streamWindow the stream window this end advertises
     * @param sessionWindow the session window this end advertises
     * @return the accepting end's reply (its limits)
     */
    public HelloFrame startSession(byte[] sessionId, int streamWindow, int sessionWindow, Duration timeout)
            throws IOException {
        byte[] clientNonce = new byte[Handshake.NONCE_LENGTH];
        new java.util.SplittableRandom(java.util.Arrays.hashCode(sessionId) + 1).nextBytes(clientNonce);
        byte[] secret = secretFor(sessionId);
        byte[] auth = java.util.Arrays.copyOf(clientNonce, clientNonce.length + secret.length);
        System.arraycopy(secret, 0, auth, clientNonce.length, secret.length);
        HelloFrame request = new HelloFrame(Frame.FLAG_HELLO_NEW_SESSION, sessionId, 1, 32 * 1024, streamWindow,
                sessionWindow, java.util.List.of(), auth);
        sendPreface().send(request);
        HelloFrame reply = readUntil(HelloFrame.class, timeout);
        if (!reply.isReply()) {
            throw new IOException("expected a HELLO reply, got " + reply);
        }
        send(new HelloFrame(Frame.FLAG_HELLO_PROOF, sessionId, 1, 32 * 1024, streamWindow, sessionWindow,
                java.util.List.of(), Handshake.dialerMac(secret, request, Handshake.withoutMac(reply))));
        return reply;
    }

    /** The session secret {@link #startSession} chooses for {@code sessionId} (so a test can join more links). */
    public static byte[] secretFor(byte[] sessionId) {
        byte[] secret = new byte[Handshake.SECRET_LENGTH];
        new java.util.SplittableRandom(java.util.Arrays.hashCode(sessionId)).nextBytes(secret);
        return secret;
    }

    /**
     * Plays the dialing side of a link joining a session started by {@link #startSession}.
     *
     * @return the reply, or the GOAWAY refusing the join
     */
    public Frame joinSession(byte[] sessionId, int linkId, Duration timeout) throws IOException {
        byte[] clientNonce = new byte[Handshake.NONCE_LENGTH];
        new java.util.SplittableRandom(linkId).nextBytes(clientNonce);
        HelloFrame request = new HelloFrame(0, sessionId, linkId, 32 * 1024, 256 * 1024, 64 << 20,
                java.util.List.of(), clientNonce);
        sendPreface().send(request);
        Frame reply = read(timeout);
        while (!(reply instanceof HelloFrame) && !(reply instanceof io.invmux.internal.frame.GoAwayFrame)) {
            io.netty.util.ReferenceCountUtil.release(reply);
            reply = read(timeout);
        }
        if (reply instanceof HelloFrame) {
            send(new HelloFrame(Frame.FLAG_HELLO_PROOF, sessionId, linkId, 32 * 1024, 256 * 1024, 64 << 20,
                    java.util.List.of(), Handshake.dialerMac(secretFor(sessionId), request,
                            Handshake.withoutMac((HelloFrame) reply))));
        }
        return reply;
    }

    /** A DATA frame of {@code length} bytes of {@code fill} at {@code offset}. */
    public ScriptedPeer sendData(int streamId, long offset, int length, byte fill) throws IOException {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, fill);
        return send(new DataFrame(streamId, 0, offset, Unpooled.wrappedBuffer(bytes)));
    }

    /** Many frames in one socket write (fast floods); each frame is encoded in turn. */
    public ScriptedPeer sendAll(Iterable<? extends Frame> frames) throws IOException {
        java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream();
        for (Frame f : frames) {
            ByteBuf buf = FrameEncoder.encode(FLOOD_ALLOC, f);
            try {
                buf.readBytes(batch, buf.readableBytes());
            } finally {
                buf.release();
            }
        }
        return sendRaw(batch.toByteArray());
    }

    public ScriptedPeer sendPreface() throws IOException {
        return sendBuf(FrameEncoder.encodePreface(ByteBufAllocator.DEFAULT));
    }

    public ScriptedPeer send(Frame frame) throws IOException {
        return sendBuf(FrameEncoder.encode(ByteBufAllocator.DEFAULT, frame));
    }

    public ScriptedPeer sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    private ScriptedPeer sendBuf(ByteBuf buf) throws IOException {
        try {
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            return sendRaw(bytes);
        } finally {
            buf.release();
        }
    }

    /**
     * The next frame from the other end (the decoder consumes its preface first). The caller releases DATA frames.
     *
     * @throws EOFException when the other end closed the connection first
     * @throws SocketTimeoutException when nothing decodable came in time
     */
    public Frame read(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        byte[] buf = new byte[4096];
        while (true) {
            Object frame = decoder.readInbound();
            if (frame != null) {
                return (Frame) frame;
            }
            int n = in.read(buf);
            if (n < 0) {
                throw new EOFException("peer closed the connection");
            }
            decoder.writeInbound(Unpooled.wrappedBuffer(buf, 0, n));
        }
    }

    /** Reads frames until one of {@code type} arrives (others are released and skipped). */
    @SuppressWarnings("unchecked")
    public <T extends Frame> T readUntil(Class<T> type, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            Frame f = read(Duration.ofMillis(left));
            if (type.isInstance(f)) {
                return (T) f;
            }
            io.netty.util.ReferenceCountUtil.release(f);
        }
    }

    /** True once the other end has closed the connection (reads EOF or reset within the timeout). */
    public boolean closedByPeer(Duration timeout) throws IOException {
        try {
            while (true) {
                io.netty.util.ReferenceCountUtil.release(read(timeout));
            }
        } catch (EOFException | java.net.SocketException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        decoder.finishAndReleaseAll();
        socket.close();
    }
}
