package io.invmux.internal.session;

import io.invmux.Config;
import io.invmux.Middleware;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.HelloFrame;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * What the HELLO frames of a link carry and how each end checks the other's. The dialer proves it belongs to the
 * session with the session secret it created with the first link; a stranger that only guessed the session id
 * is refused.
 */
final class Handshake {
    static final int SECRET_LENGTH = 32;

    private Handshake() {
    }

    static HelloFrame hello(MuxSession session, int linkId, boolean newSession, boolean reply) {
        Config c = session.config;
        int flags = (newSession ? Frame.FLAG_HELLO_NEW_SESSION : 0) | (reply ? Frame.FLAG_ACK : 0);
        byte[] auth = reply ? new byte[0] : session.secret();
        return new HelloFrame(flags, session.sessionIdBytes(), linkId, c.maxChunkSize(), c.windowSize(),
                c.sessionWindowSize(), middlewareNames(c), auth);
    }

    static List<String> middlewareNames(Config config) {
        return config.middleware().stream().map(Middleware::name).toList();
    }

    /** Checks the accepting end's reply; returns why it is wrong, or null. */
    static String checkReply(MuxSession session, int linkId, HelloFrame reply) {
        if (!reply.isReply()) {
            return "expected a HELLO reply, got a HELLO request";
        }
        if (!Arrays.equals(reply.sessionId, session.sessionIdBytes())) {
            return "HELLO reply names session " + HexFormat.of().formatHex(reply.sessionId) + ", expected "
                    + session.id();
        }
        if (reply.linkId != linkId) {
            return "HELLO reply names link " + reply.linkId + ", expected " + linkId;
        }
        return checkMiddleware(session.config, reply.middleware);
    }

    /** Returns why the two chains differ, or null when they match. */
    static String checkMiddleware(Config config, List<String> remote) {
        List<String> local = middlewareNames(config);
        if (!local.equals(remote)) {
            return "middleware chain mismatch: this end has " + local + ", the peer has " + remote;
        }
        return null;
    }

    static boolean secretMatches(byte[] expected, byte[] presented) {
        return presented.length == expected.length && MessageDigest.isEqual(expected, presented);
    }
}
