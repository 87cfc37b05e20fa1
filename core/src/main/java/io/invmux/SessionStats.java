package io.invmux;

import java.util.List;

/**
 * Counters of a session at one moment.
 *
 * @param bytesSent stream bytes sent, first transmissions only
 * @param bytesReceived stream bytes received, duplicates excluded
 * @param chunksSent chunks sent, first transmissions only
 * @param chunksReceived chunks received, duplicates included
 * @param chunksResent chunks sent again after their link was lost or went quiet
 * @param bytesResent stream bytes in those re-sent chunks
 * @param duplicateChunks chunks received that carried only bytes already held
 * @param reorderHighWaterMark most bytes any stream held out of order at once
 * @param openStreams streams open now
 * @param refusedLinks links refused at the handshake (bad version, auth, unknown session)
 * @param links per-link counters
 * @param reorderBytes bytes held out of order now, over all streams
 * @param reorderChunks chunks held out of order now, over all streams
 * @param limitsHit how often each resource limit was reached, by the name of its {@link Config} knob
 * @param bytesSentByClass {@code bytesSent} by the sending stream's {@link TrafficClass} (every class present)
 * @param bytesCopied stream bytes in the second copies of {@link TrafficClass#REDUNDANT} streams' chunks
 */
public record SessionStats(long bytesSent, long bytesReceived, long chunksSent, long chunksReceived,
        long chunksResent, long bytesResent, long duplicateChunks, long reorderHighWaterMark, int openStreams, long refusedLinks,
        List<LinkStats> links, long reorderBytes, long reorderChunks, java.util.Map<String, Long> limitsHit,
        java.util.Map<TrafficClass, Long> bytesSentByClass, long bytesCopied) {

    public SessionStats {
        links = List.copyOf(links);
        limitsHit = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(limitsHit));
        java.util.Map<TrafficClass, Long> byClass = new java.util.EnumMap<>(TrafficClass.class);
        for (TrafficClass c : TrafficClass.values()) {
            byClass.put(c, bytesSentByClass.getOrDefault(c, 0L));
        }
        bytesSentByClass = java.util.Collections.unmodifiableMap(byClass);
    }

    /**
     * Counters of one link.
     *
     * @param id link id
     * @param type transport name
     * @param remoteAddress remote address
     * @param priority scheduling tier
     * @param weight weight for the weighted balancer
     * @param state health state
     * @param bytesSent stream bytes sent on the link (re-sent ones included)
     * @param bytesReceived stream bytes received on the link (duplicates included)
     * @param chunksSent DATA frames sent on the link
     * @param chunksReceived DATA frames received on the link
     * @param chunksReinjected chunks sent on this link and then sent again elsewhere (link suspect or lost)
     * @param queuedBytes bytes sent on the link that have not reached the peer yet, as its per-link reports tell
     * @param quality latest quality: RTT, delivery rate, loss, error rate, score
     */
    public record LinkStats(String id, String type, String remoteAddress, int priority, double weight,
            HealthState state,
            long bytesSent, long bytesReceived, long chunksSent, long chunksReceived, long chunksReinjected,
            long queuedBytes, Quality quality) {
    }
}
