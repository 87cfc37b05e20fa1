package io.invmux.internal.session;

import java.util.Map;
import java.util.TreeMap;

/**
 * The set of peer stream ids that have been closed, as merged ranges. Peer ids grow by 2, so ids are stored
 * halved; streams mostly close in the order they opened, so the set stays a handful of ranges however many
 * streams came and went. Event loop only.
 */
final class IdRangeSet {
    private final TreeMap<Long, Long> ranges = new TreeMap<>(); // start -> end, inclusive, halved ids

    void add(int streamId) {
        long v = Integer.toUnsignedLong(streamId) >>> 1;
        Map.Entry<Long, Long> below = ranges.floorEntry(v);
        if (below != null && below.getValue() >= v) {
            return;
        }
        long start = v;
        long end = v;
        if (below != null && below.getValue() == v - 1) {
            start = below.getKey();
            ranges.remove(below.getKey());
        }
        Long next = ranges.get(v + 1);
        if (next != null) {
            ranges.remove(v + 1);
            end = next;
        }
        ranges.put(start, end);
    }

    boolean contains(int streamId) {
        long v = Integer.toUnsignedLong(streamId) >>> 1;
        Map.Entry<Long, Long> below = ranges.floorEntry(v);
        return below != null && below.getValue() >= v;
    }

    int rangeCount() {
        return ranges.size();
    }
}
