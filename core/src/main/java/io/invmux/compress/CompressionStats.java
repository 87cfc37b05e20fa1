package io.invmux.compress;

/**
 * What a session's compression middleware did so far. Outbound: bytes offered (before) and sent (after, headers
 * included), chunks sent compressed and raw, and the time spent compressing (failed tries included); inbound: bytes
 * received (headers included) and the raw bytes they made, and the time spent decompressing. The adaptive state: whether the path currently compresses (it
 * stops when compression, not the network, limits goodput), how often it switched, how many streams are sending
 * raw because their data did not shrink.
 */
public record CompressionStats(
        String name,
        long bytesIn,
        long bytesOut,
        long chunksCompressed,
        long chunksRaw,
        long compressNanos,
        long receivedBytes,
        long receivedRawBytes,
        long decompressNanos,
        boolean pathCompressing,
        long pathSwitches,
        int streamsSendingRaw,
        long streamSwitchesToRaw) {

    /** Bytes sent per byte offered (1.0 before anything was sent): below 1 compression saves bandwidth. */
    public double ratio() {
        return bytesIn == 0 ? 1.0 : (double) bytesOut / bytesIn;
    }
}
