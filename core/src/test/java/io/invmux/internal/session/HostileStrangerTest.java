package io.invmux.internal.session;

import static io.invmux.internal.session.HostileTarget.WAIT;
import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.internal.frame.FrameType;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.testing.ScriptedPeer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Strangers before authentication: links that start handshakes and stall, or announce a huge HELLO. Each test
 * checks the bound (handshakes in flight, bytes a HELLO may claim), the error code the offender gets, and that an
 * honest session on the same listener streams its transfer intact meanwhile.
 */
class HostileStrangerTest {
    @Test
    void stalledHandshakesBeyondThePerAddressAndPerListenerCapsAreRefusedWithLimitExceeded() throws Exception {
        Config config = Config.builder().maxHandshakesPerAddress(4).maxHandshakes(6)
                .handshakeTimeout(Duration.ofSeconds(60)).build();
        try (HostileTarget target = HostileTarget.start(config)) {
            MuxSessionListener listener = (MuxSessionListener) target.listener;
            List<ScriptedPeer> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    stalled.add(ScriptedPeer.connect(target.port).sendPreface());
                }
                try (ScriptedPeer fifth = ScriptedPeer.connect(target.port)) {
                    GoAwayFrame goAway = fifth.readUntil(GoAwayFrame.class, WAIT);
                    assertThat(goAway.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
                    assertThat(goAway.message).contains("maxHandshakesPerAddress (4)");
                }
                InetAddress other = InetAddress.getByName("127.0.0.2");
                for (int i = 0; i < 2; i++) {
                    stalled.add(ScriptedPeer.connect(target.port, other).sendPreface());
                }
                try (ScriptedPeer seventh = ScriptedPeer.connect(target.port, InetAddress.getByName("127.0.0.3"))) {
                    GoAwayFrame goAway = seventh.readUntil(GoAwayFrame.class, WAIT);
                    assertThat(goAway.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
                    assertThat(goAway.message).contains("maxHandshakes (6)");
                }
                assertThat(listener.handshakesInFlight()).isEqualTo(6);
                assertThat(listener.limitsHit()).containsEntry("maxHandshakesPerAddress", 1L)
                        .containsEntry("maxHandshakes", 1L);
                target.assertHonestTransferIntact();
            } finally {
                for (ScriptedPeer p : stalled) {
                    p.close();
                }
            }
            // Their places are free again once they are gone.
            org.awaitility.Awaitility.await().atMost(WAIT).until(() -> listener.handshakesInFlight() == 0);
            try (ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
                peer.startSession(HostileTarget.sessionId(20), config.windowSize(), config.sessionWindowSize(),
                        WAIT);
                assertThat(target.acceptAttacker().isClosed()).isFalse();
            }
        }
    }

    /**
     * A HELLO header announcing 60,000 bytes (the wire allows 66 KiB, for 255 middleware names) is refused from the
     * header alone: this end's HELLO cap follows its own middleware chain, which the peer's must equal.
     */
    @Test
    void aHelloLongerThanThisEndsChainCanNeedIsRefusedFromItsHeader() throws Exception {
        Config config = Config.builder().handshakeTimeout(Duration.ofSeconds(60)).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.sendPreface().sendRaw(new byte[] {FrameType.HELLO, 1, 0, 0, 0, 0, 0, 0, (byte) 0xEA, 0x60});
            GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, Duration.ofSeconds(10));
            assertThat(goAway.errorCode).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(goAway.message).contains("HELLO frame payload of 60000 bytes exceeds the limit of "
                    + io.invmux.internal.frame.HelloFrame.maxPayload(List.of()));
            assertThat(peer.closedByPeer(WAIT)).isTrue();
            target.assertHonestTransferIntact();
        }
    }
}
