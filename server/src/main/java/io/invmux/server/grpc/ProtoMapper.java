package io.invmux.server.grpc;

import com.google.protobuf.Duration;
import io.invmux.HealthState;
import io.invmux.Quality;
import io.invmux.Session;
import io.invmux.SessionStats;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.LinkState;
import io.invmux.server.runtime.SidecarRuntime;

/** Data-plane objects as API messages. */
final class ProtoMapper {
    private ProtoMapper() {
    }

    static io.invmux.proto.v1.Session session(SidecarRuntime.Tracked t) {
        Session s = t.session();
        SessionStats stats = s.stats();
        io.invmux.proto.v1.Session.Builder b = io.invmux.proto.v1.Session.newBuilder()
                .setSessionId(s.id()).setPeer(t.peer()).setDialer(t.dialer()).setOpenStreams(stats.openStreams())
                .setBytesSent(stats.bytesSent()).setBytesReceived(stats.bytesReceived())
                .setChunksResent(stats.chunksResent()).setDuplicateChunks(stats.duplicateChunks())
                .setReorderHighWaterMark(stats.reorderHighWaterMark()).setRefusedLinks(stats.refusedLinks());
        for (SessionStats.LinkStats l : stats.links()) {
            b.addLinks(link(s.id(), t.peer(), l));
        }
        io.invmux.server.runtime.StreamCompression.stats(s).ifPresent(c -> b.setCompression(compression(c)));
        return b.build();
    }

    static io.invmux.proto.v1.Compression compression(io.invmux.compress.CompressionStats c) {
        return io.invmux.proto.v1.Compression.newBuilder().setName(c.name()).setBytesIn(c.bytesIn())
                .setBytesOut(c.bytesOut()).setRatio(c.ratio()).setChunksCompressed(c.chunksCompressed())
                .setChunksRaw(c.chunksRaw()).setCompressCpu(duration(java.time.Duration.ofNanos(c.compressNanos())))
                .setReceivedBytes(c.receivedBytes()).setReceivedRawBytes(c.receivedRawBytes())
                .setDecompressCpu(duration(java.time.Duration.ofNanos(c.decompressNanos())))
                .setPathCompressing(c.pathCompressing())
                .setPathSwitches(c.pathSwitches()).setStreamsSendingRaw(c.streamsSendingRaw())
                .setStreamSwitchesToRaw(c.streamSwitchesToRaw()).build();
    }


    static Link link(String sessionId, String peer, SessionStats.LinkStats l) {
        return Link.newBuilder().setSessionId(sessionId).setLinkId(l.id()).setPeer(peer)
                .setRemoteAddress(l.remoteAddress()).setTransport(l.type()).setPriority(l.priority())
                .setWeight(l.weight()).setState(state(l.state())).setQuality(quality(l.quality()))
                .setBytesSent(l.bytesSent()).setBytesReceived(l.bytesReceived()).setChunksSent(l.chunksSent())
                .setChunksReceived(l.chunksReceived()).setChunksReinjected(l.chunksReinjected())
                .setQueuedBytes(l.queuedBytes()).build();
    }

    /** A link known only through its {@link io.invmux.Connection} (e.g. in an event). */
    static Link link(String sessionId, String peer, io.invmux.Connection c) {
        return Link.newBuilder().setSessionId(sessionId).setLinkId(c.id()).setPeer(peer)
                .setRemoteAddress(c.remoteAddress()).setTransport(c.type()).setPriority(c.priority())
                .setWeight(c.weight()).setState(state(c.health())).setQuality(quality(c.quality()))
                .setQueuedBytes(c.queuedBytes()).build();
    }

    static LinkState state(HealthState s) {
        switch (s) {
            case HEALTHY: return LinkState.LINK_STATE_HEALTHY;
            case DEGRADED: return LinkState.LINK_STATE_DEGRADED;
            case UNHEALTHY: return LinkState.LINK_STATE_UNHEALTHY;
            case PROBATION: return LinkState.LINK_STATE_PROBATION;
            case DEAD: return LinkState.LINK_STATE_DEAD;
            default: return LinkState.LINK_STATE_UNSPECIFIED;
        }
    }

    static io.invmux.proto.v1.Quality quality(Quality q) {
        return io.invmux.proto.v1.Quality.newBuilder().setRtt(duration(q.latency()))
                .setRttVariance(duration(q.latencyVariance())).setBandwidthBytesPerSecond(q.bandwidth())
                .setPacketLoss(q.packetLoss()).setErrorRate(q.errorRate()).setScore(q.score()).build();
    }

    static Duration duration(java.time.Duration d) {
        return Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }
}
