package io.invmux.internal.compress;

/**
 * Decides, for one stream, whether to try compressing its next chunk: after {@link #RAW_STREAK} chunks in a row
 * that did not shrink enough, it sends the next ones raw without trying, then tries one; each failed try doubles
 * the chunks skipped ({@link #FIRST_SKIP} up to {@link #MAX_SKIP}), a chunk that shrinks resets it. So an
 * incompressible stream costs one compression attempt per {@link #MAX_SKIP} chunks, and a stream whose data turns
 * compressible is compressed again within that many chunks. Confined to the session's event loop.
 */
public final class StreamGovernor {
    static final int RAW_STREAK = 4;
    static final int FIRST_SKIP = 8;
    static final int MAX_SKIP = 256;

    // [L]
    private int streak;
    private int skip;
    private int backoff;

    /** [L] Whether to try compressing the next chunk (false: send it raw without trying). */
    public boolean shouldTry() {
        if (skip > 0) {
            skip--;
            return false;
        }
        return true;
    }

    /** [L] True while this stream sends raw because its data does not shrink. */
    public boolean sendingRaw() {
        return backoff > 0;
    }

    /**
     * [L] The outcome of a try.
     *
     * @return true if the stream just switched to sending raw
     */
    public boolean onTried(boolean paid) {
        if (paid) {
            streak = 0;
            backoff = 0;
            return false;
        }
        if (backoff > 0) {
            backoff = Math.min(MAX_SKIP, backoff * 2);
            skip = backoff;
            return false;
        }
        if (++streak >= RAW_STREAK) {
            streak = 0;
            backoff = FIRST_SKIP;
            skip = backoff;
            return true;
        }
        return false;
    }
}
