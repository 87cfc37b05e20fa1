package io.invmux.internal.session;

import static io.invmux.internal.session.HostileTarget.WAIT;
import static io.invmux.internal.session.HostileTarget.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.invmux.Config;
import io.invmux.Stream;
import io.invmux.internal.frame.AckFrame;
import io.invmux.internal.frame.OpenFrame;
import io.invmux.testing.ScriptedPeer;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * An OPEN the peer does not acknowledge is sent again, as TCP sends its SYN again: the peer holds the stream's data
 * until the OPEN comes (pendingOpenTimeout), so one lost without its link going down must not be lost for good.
 */
class OpenRetransmitTest {
    @Test
    void anOpenWithoutAnAcknowledgementIsSentAgainUntilThePeerAcknowledgesTheStream() throws Exception {
        // The scripted peer sends nothing of its own: no keep-alive timeout during the test.
        Config config = Config.builder().keepAliveTimeout(Duration.ofSeconds(60)).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(50), config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession opener = target.acceptAttacker();
            Stream stream = opener.openStream("retransmit".getBytes());
            stream.outputStream().write(new byte[100]);

            OpenFrame first = peer.readUntil(OpenFrame.class, WAIT);
            long firstAt = System.nanoTime();
            assertThat(first.streamId).isEqualTo(stream.id());
            // No ACK: the OPEN comes again, after about a second.
            OpenFrame again = peer.readUntil(OpenFrame.class, Duration.ofSeconds(5));
            assertThat(again.streamId).isEqualTo(stream.id());
            assertThat(again.metadata).isEqualTo("retransmit".getBytes());
            assertThat((System.nanoTime() - firstAt) / 1e9).as("seconds until the OPEN came again")
                    .isGreaterThanOrEqualTo(0.9);

            // Acknowledged: no more OPENs (the next try would be due 2 s after the last).
            peer.send(new AckFrame(stream.id(), 0, 100, config.windowSize()));
            assertThatThrownBy(() -> peer.readUntil(OpenFrame.class, Duration.ofMillis(3500)))
                    .isInstanceOf(SocketTimeoutException.class);
        }
    }
}
