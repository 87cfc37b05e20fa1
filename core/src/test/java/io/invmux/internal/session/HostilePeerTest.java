package io.invmux.internal.session;

import static io.invmux.internal.session.HostileTarget.WAIT;
import static io.invmux.internal.session.HostileTarget.sessionId;
import static io.invmux.internal.session.HostileTarget.sync;
import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.Stream;
import io.invmux.TrafficClass;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.internal.frame.OpenFrame;
import io.invmux.internal.frame.ResetFrame;
import io.invmux.testing.ScriptedPeer;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A peer that passed the handshake and then attacks: each test plays one attack through a scripted peer and
 * checks that memory stays under a stated bound (the session's own accounting), that the offender gets a clear
 * error code, and that an honest session on the same listener streams its transfer intact meanwhile.
 */
class HostilePeerTest {
    private static final int CHUNK = 32 * 1024;

    /**
     * Offset 0 left empty, then chunks of 32 KiB at offsets 1, 2, 3, ...: each overlaps the one before. Held as they
     * came that is 32 KiB per chunk; trimmed, the bytes held never exceed the window, and the stream still delivers
     * every byte once the gap is filled.
     */
    @Test
    void overlappingChunksBehindAGapHoldNoMoreThanTheWindow() throws Exception {
        try (HostileTarget target = HostileTarget.start(Config.defaults());
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            int window = target.config.windowSize();
            peer.startSession(sessionId(1), window, target.config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            peer.send(new OpenFrame(1, "overlaps".getBytes()));
            int chunks = 2000;
            List<Frame> flood = new ArrayList<>();
            for (int offset = 1; offset <= chunks; offset++) {
                byte[] bytes = new byte[CHUNK];
                java.util.Arrays.fill(bytes, (byte) 'x');
                flood.add(new DataFrame(1, 0, offset, Unpooled.wrappedBuffer(bytes)));
                if (flood.size() == 100) {
                    peer.sendAll(flood);
                    flood.clear();
                }
            }
            sync(peer, 1);
            long end = chunks + CHUNK;
            assertThat(victim.stats().reorderHighWaterMark()).as("bytes held out of order")
                    .isEqualTo(end - 1).isLessThanOrEqualTo(window);
            assertThat(victim.stats().reorderChunks()).isLessThanOrEqualTo(chunks);

            peer.sendData(1, 0, 1, (byte) 'x');
            Stream stream = victim.acceptStream(WAIT);
            byte[] got = stream.inputStream().readNBytes((int) end);
            assertThat(got).hasSize((int) end).containsOnly((byte) 'x');
            assertThat(victim.stats().reorderBytes()).isZero();
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * One-byte chunks at offsets 2, 4, 6, ...: no overlap, far less than the window in bytes, but each costs a
     * buffer and a map entry. Past maxReorderChunks the stream is reset with LIMIT_EXCEEDED and its chunks freed.
     */
    @Test
    void tinyChunksBeyondTheSessionsReorderChunkLimitResetTheStream() throws Exception {
        Config config = Config.builder().maxReorderChunks(1024).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(2), config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            List<Frame> flood = new ArrayList<>();
            for (int i = 1; i <= 2000; i++) {
                flood.add(new DataFrame(3, 0, 2L * i, Unpooled.wrappedBuffer(new byte[] {1})));
            }
            peer.sendAll(flood);
            ResetFrame rst = peer.readUntil(ResetFrame.class, WAIT);
            assertThat(rst.streamId).isEqualTo(3);
            assertThat(rst.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
            assertThat(rst.message).contains("maxReorderChunks (1024)");
            sync(peer, 2);
            assertThat(victim.stats().reorderChunks()).isZero();
            assertThat(victim.stats().limitsHit()).containsEntry("maxReorderChunks", 1L);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * RSTs for stream ids the peer never opened, 1, 5, 9, ...: each would be a range of its own in the set of closed
     * ids. An RST more than 1024 ids beyond the highest stream the peer opened closes the session PROTOCOL_ERROR.
     */
    @Test
    void resetsForStreamsThePeerNeverOpenedEndTheSessionWithProtocolError() throws Exception {
        try (HostileTarget target = HostileTarget.start(Config.defaults());
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(3), target.config.windowSize(), target.config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            List<Frame> flood = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                flood.add(new ResetFrame(1 + 4 * i, ErrorCode.CANCEL, "never opened"));
            }
            peer.sendAll(flood);
            GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
            assertThat(goAway.linkOnly()).isFalse();
            assertThat(goAway.errorCode).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(goAway.message).contains("beyond the highest stream it opened");
            assertThat(victim.closedPeerStreamRanges()).as("ranges of closed ids held").isLessThanOrEqualTo(1024);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * Streams opened with gaps between their ids (1, 5, 9, ...) and reset at once: each closed id is a range of
     * its own. Beyond maxStreams + 1024 ranges the session closes PROTOCOL_ERROR.
     */
    @Test
    void streamIdsSkippedByTheThousandEndTheSessionWithProtocolError() throws Exception {
        Config config = Config.builder().maxStreams(16).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(4), config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            List<Frame> flood = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                int id = 1 + 4 * i;
                flood.add(new DataFrame(id, 0, 0, Unpooled.wrappedBuffer(new byte[] {1})));
                flood.add(new ResetFrame(id, ErrorCode.CANCEL, "gone"));
            }
            peer.sendAll(flood);
            GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
            assertThat(goAway.errorCode).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(goAway.message).contains("ranges");
            assertThat(victim.closedPeerStreamRanges()).isLessThanOrEqualTo(16 + 1024 + 1);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * A peer advertising the largest window a HELLO can carry (2 GiB) that never acknowledges: the writer may buffer
     * twice the window it is granted, but never more than twice this end's own maxWindowSize.
     */
    @Test
    void aHugeAdvertisedWindowNeverMakesUsBufferMoreThanTwiceOurOwnMaximum() throws Exception {
        Config config = Config.builder().maxWindowSize(1024 * 1024).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(5), Integer.MAX_VALUE, Integer.MAX_VALUE, WAIT);
            MuxSession victim = target.acceptAttacker();
            Stream stream = victim.openStream("to the attacker".getBytes());
            long accepted = fillUntilBlocked(stream, 64L * 1024 * 1024);
            assertThat(accepted).as("bytes buffered for a peer that never acknowledges")
                    .isLessThanOrEqualTo(2L * config.maxWindowSize());
            assertThat(((MuxStream) stream).bufferedBytesForTest()).isLessThanOrEqualTo(2L * config.maxWindowSize());
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /** An ACK whose max offset is above 2^62: twice the window would overflow; the writer must not stall for it. */
    @Test
    void anAckBeyondTwoToTheSixtySecondKeepsTheWriterGoingWithinItsBound() throws Exception {
        Config config = Config.builder().maxWindowSize(1024 * 1024).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(6), config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            MuxStream stream = (MuxStream) victim.openStream("to the attacker".getBytes());
            stream.outputStream().write(new byte[1024]);
            DataFrame data = peer.readUntil(DataFrame.class, WAIT);
            data.release();
            peer.send(new io.invmux.internal.frame.AckFrame(stream.id, 0, 1024, (1L << 62) + 4096));
            peer.send(new io.invmux.internal.frame.AckFrame(0, 0, 0, Long.MAX_VALUE));
            sync(peer, 7);
            assertThat(stream.isWritable()).as("writable after the huge ACK").isTrue();
            long accepted = fillUntilBlocked(stream, 64L * 1024 * 1024);
            assertThat(accepted).isPositive().isLessThanOrEqualTo(2L * config.maxWindowSize());
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * ACK(CLOSED) says the peer no longer knows a stream. For a stream whose FIN has not even been sent that
     * cannot mean "all delivered": the stream fails (PROTOCOL_ERROR) instead of its bytes being counted as
     * acknowledged, which would lose them silently.
     */
    @Test
    void ackClosedForAStreamWithUnacknowledgedBytesFailsItInsteadOfCountingThemDelivered() throws Exception {
        try (HostileTarget target = HostileTarget.start(Config.defaults());
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(8), target.config.windowSize(), target.config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            MuxStream stream = (MuxStream) victim.openStream("to the attacker".getBytes());
            stream.outputStream().write(new byte[1024]);
            peer.readUntil(DataFrame.class, WAIT).release();
            peer.send(new io.invmux.internal.frame.AckFrame(stream.id, Frame.FLAG_ACK_CLOSED, 0, 0));
            assertThat(stream.closeFuture()).failsWithin(WAIT).withThrowableThat().havingRootCause()
                    .isInstanceOfSatisfying(io.invmux.StreamResetException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.PROTOCOL_ERROR);
                        assertThat(e.getMessage()).contains("1024 bytes").contains("unacknowledged");
                    });
            ResetFrame rst = peer.readUntil(ResetFrame.class, WAIT);
            assertThat(rst.streamId).isEqualTo(stream.id);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * DATA for streams whose OPEN never comes: each such stream holds its bytes (up to a window) and a stream slot.
     * After pendingOpenTimeout it is reset PROTOCOL_ERROR and all it held is freed.
     */
    @Test
    void streamsCreatedByDataWhoseOpenNeverComesExpire() throws Exception {
        Config config = Config.builder().pendingOpenTimeout(Duration.ofMillis(300)).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(9), config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            List<Frame> flood = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                flood.add(new DataFrame(1 + 2 * i, 0, 1, Unpooled.wrappedBuffer(new byte[CHUNK])));
            }
            peer.sendAll(flood);
            sync(peer, 9);
            assertThat(victim.numStreams()).isEqualTo(100);
            assertThat(victim.stats().reorderBytes()).as("held by streams waiting for OPEN").isEqualTo(100L * CHUNK);
            ResetFrame rst = peer.readUntil(ResetFrame.class, WAIT);
            assertThat(rst.errorCode).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(rst.message).contains("no OPEN").contains("pendingOpenTimeout");
            org.awaitility.Awaitility.await().atMost(WAIT).until(() -> victim.numStreams() == 0);
            assertThat(victim.stats().reorderBytes()).isZero();
            assertThat(victim.stats().limitsHit()).containsEntry("pendingOpenTimeout", 100L);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /**
     * A peer that floods PINGs and never reads: each PONG would wait in our outbound buffer. PINGs beyond
     * maxPingRate (or while the link cannot take writes) go unanswered, so what waits stays small.
     */
    @Test
    void aPingFloodFromAPeerThatNeverReadsIsAnsweredAtMostAtMaxPingRate() throws Exception {
        Config config = Config.builder().maxPingRate(100).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connectSlowReader(target.port)) {
            peer.startSession(sessionId(10), config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            List<Frame> flood = new ArrayList<>();
            for (int round = 0; round < 8; round++) {
                for (int i = 0; i < 25_000; i++) {
                    flood.add(new io.invmux.internal.frame.PingFrame(false, i, 0));
                }
                peer.sendAll(flood);
                flood.clear();
            }
            org.awaitility.Awaitility.await().atMost(WAIT)
                    .until(() -> victim.stats().limitsHit().getOrDefault("maxPingRate", 0L) > 150_000);
            assertThat(victim.outboundBytes()).as("bytes waiting to go out to the peer")
                    .isLessThan(config.linkWriteBufferSize());
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    /** Writes without blocking until the stream takes no more (or {@code cap} bytes went in); returns the count. */
    private static long fillUntilBlocked(Stream stream, long cap) throws Exception {
        java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(64 * 1024);
        long accepted = 0;
        while (accepted < cap) {
            block.clear();
            int n = stream.tryWrite(block);
            if (n == 0) {
                break;
            }
            accepted += n;
        }
        return accepted;
    }

    /** An OPEN whose flags name no traffic class: that stream is reset, saying why; the session carries on. */
    @Test
    void anOpenNamingNoTrafficClassResetsThatStreamAndTheSessionCarriesOn() throws Exception {
        try (HostileTarget target = HostileTarget.start(Config.defaults());
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.startSession(sessionId(40), target.config.windowSize(), target.config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            peer.send(new OpenFrame(1, 3, "odd".getBytes()));
            ResetFrame reset = peer.readUntil(ResetFrame.class, WAIT);
            assertThat(reset.streamId).isEqualTo(1);
            assertThat(reset.errorCode).isEqualTo(ErrorCode.PROTOCOL_ERROR);
            assertThat(reset.message).contains("traffic class 3").contains("0 (bulk)");
            // The same peer's next stream, of a class that exists, is accepted.
            peer.send(new OpenFrame(3, TrafficClass.INTERACTIVE.wireValue(), "next".getBytes()));
            peer.sendData(3, 0, 10, (byte) 'y');
            Stream next = victim.acceptStream(WAIT);
            assertThat(next.trafficClass()).isEqualTo(TrafficClass.INTERACTIVE);
            assertThat(next.inputStream().readNBytes(10)).containsOnly((byte) 'y');
            target.assertHonestTransferIntact();
        }
    }
}
