package io.invmux.internal.session;

import io.invmux.Config;
import io.invmux.Middleware;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.HelloFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The three HELLO messages that start a link, and the proofs they carry.
 *
 * <pre>
 * dialer   → HELLO(request)  auth = cn (16) [+ session secret (32): new session, no key]
 *                                      [+ name length (u8) + name: flag KEY_NAME, the name its key is under]
 * accepter → HELLO(reply)    auth = sn (16) + HMAC(L, "invmux/1 accepter" | T(request) | T(reply without MAC))
 * dialer   → HELLO(proof)    auth = HMAC(L, "invmux/1 dialer"   | T(request) | T(reply without MAC))
 *
 * L = HKDF-SHA256(salt = cn | sn, ikm = K, info = "invmux/1 link" | sid | link id), 32 bytes
 * T(hello) = the HELLO frame exactly as encoded on the wire (header included)
 * </pre>
 *
 * K is the pre-shared key when one is configured (the per-peer key named in the request, or the shared one), else
 * the session secret the first link of the session chose (and sent once, in its request: only TLS hides it). K
 * itself never keys a MAC: each link's proofs use a key derived from K and both fresh nonces, so a recorded
 * handshake is worthless to replay and the MACs of one link say nothing about another's. Both MACs cover both
 * HELLOs whole — flags, limits, middleware chain, auth — so a rewrite of any field on the way is detected by the
 * end that did not send it. The PROOF's own fields other than its auth are not used.
 */
public final class Handshake {
    public static final int SECRET_LENGTH = 32;
    public static final int NONCE_LENGTH = 16;
    public static final int MAC_LENGTH = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Handshake() {
    }

    static byte[] nonce() {
        byte[] n = new byte[NONCE_LENGTH];
        RANDOM.nextBytes(n);
        return n;
    }

    /** The dialer's first message. */
    static HelloFrame request(MuxSession session, int linkId, boolean newSession, byte[] clientNonce) {
        Config c = session.config;
        byte[] auth = clientNonce;
        if (newSession && c.preSharedKey().isEmpty()) {
            auth = concat(auth, session.secret());
        }
        int flags = newSession ? Frame.FLAG_HELLO_NEW_SESSION : 0;
        if (c.keyName().isPresent()) {
            byte[] name = c.keyName().get().getBytes(StandardCharsets.UTF_8);
            auth = concat(concat(auth, new byte[] {(byte) name.length}), name);
            flags |= Frame.FLAG_HELLO_KEY_NAME;
        }
        return hello(c, flags, session.sessionIdBytes(), linkId, auth);
    }

    /**
     * What a request's auth asks the accepting end to check: the name the dialer's per-peer key is under and that
     * key (both null when it uses the shared key or the session secret), or why the request is refused.
     */
    record RequestKey(String keyName, byte[] peerKey, String error) {
        static RequestKey refused(String error) {
            return new RequestKey(null, null, error);
        }
    }

    /** Reads the auth of a HELLO request against what the accepting end's {@code config} requires. */
    static RequestKey requestKey(Config config, HelloFrame hello) {
        if (hello.auth.length < NONCE_LENGTH) {
            return RequestKey.refused("HELLO request must start its auth with a " + NONCE_LENGTH + "-byte nonce, got "
                    + hello.auth.length + " bytes");
        }
        byte[] rest = Arrays.copyOfRange(hello.auth, NONCE_LENGTH, hello.auth.length);
        if (hello.hasFlag(Frame.FLAG_HELLO_KEY_NAME)) {
            int n = rest.length == 0 ? 0 : rest[0] & 0xff;
            if (n == 0 || rest.length != 1 + n) {
                return RequestKey.refused("HELLO request flagged KEY_NAME must end its auth with a name (length u8, "
                        + "1 to 255 bytes of UTF-8); got " + rest.length + " bytes");
            }
            String name = new String(rest, 1, n, StandardCharsets.UTF_8);
            byte[] key = config.peerKey(name);
            if (key == null) {
                return RequestKey.refused("no pre-shared key for a peer named '" + name + "' at this end"
                        + (config.peerKeys().isEmpty() ? "" : " (keys are held for " + config.peerKeys().keySet()
                        + ")"));
            }
            return new RequestKey(name, key, null);
        }
        if (config.requiresKey()) {
            if (config.preSharedKey().isEmpty()) {
                return RequestKey.refused("this end requires a pre-shared key and holds one per peer: the dialer "
                        + "must announce the name its key is under");
            }
            return rest.length == 0 ? new RequestKey(null, null, null) : RequestKey.refused("HELLO request must "
                    + "carry " + NONCE_LENGTH + " auth bytes (this end requires a pre-shared key), got "
                    + hello.auth.length);
        }
        int expected = NONCE_LENGTH + (hello.newSession() ? SECRET_LENGTH : 0);
        return hello.auth.length == expected ? new RequestKey(null, null, null) : RequestKey.refused("HELLO request "
                + "must carry " + expected + " auth bytes (this end has no pre-shared key), got " + hello.auth.length);
    }

    /** The accepter's reply before its MAC is appended: the part of it both MACs cover. */
    public static HelloFrame replyBase(Config config, HelloFrame request, byte[] serverNonce) {
        return hello(config, Frame.FLAG_ACK | (request.flags & Frame.FLAG_HELLO_NEW_SESSION), request.sessionId,
                request.linkId, serverNonce);
    }

    /** The accepter's reply: its nonce and its proof. */
    static HelloFrame reply(Config config, HelloFrame request, byte[] key, byte[] serverNonce) {
        HelloFrame base = replyBase(config, request, serverNonce);
        return withAuth(base, concat(serverNonce, accepterMac(key, request, base)));
    }

    /** The dialer's answer to the challenge. */
    static HelloFrame proof(MuxSession session, byte[] key, HelloFrame request, HelloFrame reply) {
        byte[] mac = dialerMac(key, request, withoutMac(reply));
        return hello(session.config, Frame.FLAG_HELLO_PROOF, session.sessionIdBytes(), request.linkId, mac);
    }

    private static HelloFrame hello(Config c, int flags, byte[] sessionId, int linkId, byte[] auth) {
        return new HelloFrame(flags, sessionId, linkId, c.maxChunkSize(), c.windowSize(), c.sessionWindowSize(),
                middlewareNames(c), auth);
    }

    private static HelloFrame withAuth(HelloFrame h, byte[] auth) {
        return new HelloFrame(h.flags, h.sessionId, h.linkId, h.maxChunkSize, h.streamWindow, h.sessionWindow,
                h.middleware, auth);
    }

    /** A received reply as it was before its MAC was appended. */
    public static HelloFrame withoutMac(HelloFrame reply) {
        return withAuth(reply, Arrays.copyOf(reply.auth, NONCE_LENGTH));
    }

    static List<String> middlewareNames(Config config) {
        return config.middleware().stream().map(Middleware::name).toList();
    }

    /** The key the dialer's links prove they hold: its pre-shared key, else the session's secret. */
    static byte[] key(Config config, byte[] sessionSecret) {
        return config.preSharedKey().orElse(sessionSecret);
    }

    /**
     * Checks the accepter's reply on the dialing side.
     *
     * @return why it is wrong, or null
     */
    static String checkReply(MuxSession session, HelloFrame request, HelloFrame reply) {
        if (!reply.isReply()) {
            return "expected a HELLO reply, got " + reply;
        }
        if (!Arrays.equals(reply.sessionId, session.sessionIdBytes())) {
            return "HELLO reply names session " + HexFormat.of().formatHex(reply.sessionId) + ", expected "
                    + session.id();
        }
        if (reply.linkId != request.linkId) {
            return "HELLO reply names link " + reply.linkId + ", expected " + request.linkId;
        }
        if (reply.auth.length != NONCE_LENGTH + MAC_LENGTH) {
            return "HELLO reply must carry " + (NONCE_LENGTH + MAC_LENGTH) + " auth bytes, got " + reply.auth.length;
        }
        byte[] mac = Arrays.copyOfRange(reply.auth, NONCE_LENGTH, reply.auth.length);
        byte[] expected = accepterMac(key(session.config, session.secret()), request, withoutMac(reply));
        if (!MessageDigest.isEqual(expected, mac)) {
            return "the accepting end failed to prove it holds the " + keyName(session.config)
                    + ", or a HELLO was altered on the way";
        }
        // Checked after the MAC: a chain named in an authentic reply is worth reporting as the peer's.
        return checkMiddleware(session.config, reply.middleware);
    }

    static String keyName(Config config) {
        return config.preSharedKey().isPresent() ? "pre-shared key" : "session secret";
    }

    /** Returns why the two chains differ, or null when they match. */
    static String checkMiddleware(Config config, List<String> remote) {
        List<String> local = middlewareNames(config);
        if (!local.equals(remote)) {
            return "middleware chain mismatch: this end has " + local + ", the peer has " + remote;
        }
        return null;
    }

    static boolean macMatches(byte[] expected, byte[] presented) {
        return presented.length == expected.length && MessageDigest.isEqual(expected, presented);
    }

    /** The accepter's MAC over the request and its reply (without the MAC), under {@code key}. */
    public static byte[] accepterMac(byte[] key, HelloFrame request, HelloFrame replyBase) {
        return mac(key, "accepter", request, replyBase);
    }

    /** The dialer's MAC over the request and the reply (without the MAC), under {@code key}. */
    public static byte[] dialerMac(byte[] key, HelloFrame request, HelloFrame replyBase) {
        return mac(key, "dialer", request, replyBase);
    }

    private static byte[] mac(byte[] key, String role, HelloFrame request, HelloFrame replyBase) {
        byte[] clientNonce = Arrays.copyOf(request.auth, NONCE_LENGTH);
        byte[] serverNonce = Arrays.copyOf(replyBase.auth, NONCE_LENGTH);
        byte[] info = concat(concat("invmux/1 link".getBytes(StandardCharsets.US_ASCII), request.sessionId),
                ByteBuffer.allocate(4).putInt(request.linkId).array());
        byte[] linkKey = Hkdf.derive(concat(clientNonce, serverNonce), key, info, Hkdf.HASH_LENGTH);
        byte[] transcript = concat(concat(("invmux/1 " + role).getBytes(StandardCharsets.US_ASCII),
                wireBytes(request)), wireBytes(replyBase));
        return Hkdf.hmac(linkKey, transcript);
    }

    /** The frame exactly as {@link FrameEncoder} puts it on the wire: the same bytes on both ends. */
    static byte[] wireBytes(HelloFrame hello) {
        ByteBuf buf = FrameEncoder.encode(UnpooledByteBufAllocator.DEFAULT, hello);
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
