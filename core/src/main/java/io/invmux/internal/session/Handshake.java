package io.invmux.internal.session;

import io.invmux.Config;
import io.invmux.Middleware;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.HelloFrame;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The three HELLO messages that start a link, and the proofs they carry.
 *
 * <pre>
 * dialer   → HELLO(request)  auth = client nonce (16) [+ session secret (32): new session without a pre-shared key]
 * accepter → HELLO(reply)    auth = server nonce (16) + HMAC(K, "invmux/1 accepter" | sid | link | cn | sn)
 * dialer   → HELLO(proof)    auth = HMAC(K, "invmux/1 dialer" | sid | link | cn | sn)
 * </pre>
 *
 * K is the pre-shared key when one is configured, else the session secret the first link of the session chose
 * (and sent once, in its request). Both ends prove they hold K; the accepter's fresh nonce makes a recorded
 * handshake useless to replay; a stranger who guessed a session id cannot join it.
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
        byte[] auth = clientNonce;
        if (newSession && session.config.preSharedKey().isEmpty()) {
            auth = concat(clientNonce, session.secret());
        }
        return hello(session.config, newSession ? Frame.FLAG_HELLO_NEW_SESSION : 0, session.sessionIdBytes(), linkId,
                auth);
    }

    /** The accepter's reply: its nonce and its proof. */
    static HelloFrame reply(Config config, HelloFrame request, byte[] key, byte[] clientNonce, byte[] serverNonce) {
        byte[] mac = mac(key, "accepter", request.sessionId, request.linkId, clientNonce, serverNonce);
        return hello(config, Frame.FLAG_ACK | (request.flags & Frame.FLAG_HELLO_NEW_SESSION), request.sessionId,
                request.linkId, concat(serverNonce, mac));
    }

    /** The dialer's answer to the challenge. */
    static HelloFrame proof(MuxSession session, int linkId, byte[] key, byte[] clientNonce, byte[] serverNonce) {
        byte[] mac = mac(key, "dialer", session.sessionIdBytes(), linkId, clientNonce, serverNonce);
        return hello(session.config, Frame.FLAG_HELLO_PROOF, session.sessionIdBytes(), linkId, mac);
    }

    private static HelloFrame hello(Config c, int flags, byte[] sessionId, int linkId, byte[] auth) {
        return new HelloFrame(flags, sessionId, linkId, c.maxChunkSize(), c.windowSize(), c.sessionWindowSize(),
                middlewareNames(c), auth);
    }

    static List<String> middlewareNames(Config config) {
        return config.middleware().stream().map(Middleware::name).toList();
    }

    /** The key links of this session prove they hold. */
    static byte[] key(Config config, byte[] sessionSecret) {
        return config.preSharedKey().orElse(sessionSecret);
    }

    /**
     * Checks the accepter's reply on the dialing side.
     *
     * @return why it is wrong, or null
     */
    static String checkReply(MuxSession session, int linkId, HelloFrame reply, byte[] clientNonce) {
        if (!reply.isReply()) {
            return "expected a HELLO reply, got " + reply;
        }
        if (!Arrays.equals(reply.sessionId, session.sessionIdBytes())) {
            return "HELLO reply names session " + HexFormat.of().formatHex(reply.sessionId) + ", expected "
                    + session.id();
        }
        if (reply.linkId != linkId) {
            return "HELLO reply names link " + reply.linkId + ", expected " + linkId;
        }
        if (reply.auth.length != NONCE_LENGTH + MAC_LENGTH) {
            return "HELLO reply must carry " + (NONCE_LENGTH + MAC_LENGTH) + " auth bytes, got " + reply.auth.length;
        }
        String mismatch = checkMiddleware(session.config, reply.middleware);
        if (mismatch != null) {
            return mismatch;
        }
        byte[] serverNonce = Arrays.copyOf(reply.auth, NONCE_LENGTH);
        byte[] mac = Arrays.copyOfRange(reply.auth, NONCE_LENGTH, reply.auth.length);
        byte[] expected = mac(key(session.config, session.secret()), "accepter", session.sessionIdBytes(), linkId,
                clientNonce, serverNonce);
        if (!MessageDigest.isEqual(expected, mac)) {
            return "the accepting end failed to prove it holds the " + keyName(session.config);
        }
        return null;
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

    public static byte[] mac(byte[] key, String role, byte[] sessionId, int linkId, byte[] clientNonce, byte[] serverNonce) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(("invmux/1 " + role).getBytes(StandardCharsets.US_ASCII));
            mac.update(sessionId);
            mac.update(ByteBuffer.allocate(4).putInt(0, linkId));
            mac.update(clientNonce);
            mac.update(serverNonce);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
