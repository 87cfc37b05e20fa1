package io.invmux.server.proxy;

import static org.awaitility.Awaitility.await;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the bytes a blocking writer got through, so a test can wait until the writer is stuck (pushed back on)
 * instead of sleeping. Test helper.
 */
final class Progress extends FilterOutputStream {
    private final AtomicLong written = new AtomicLong();

    Progress(OutputStream out) {
        super(out);
    }

    long written() {
        return written.get();
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        written.addAndGet(len);
    }

    /**
     * Waits until the writer has made progress and then none across ten polls a tenth of a second apart. A writer
     * that is merely slow keeps moving and is waited for; one that stops is blocked, since it never stops by
     * itself. (Were it only descheduled for a second, the caller's bound on {@link #written()} holds all the more.)
     */
    long awaitStalled() {
        long[] last = {-1};
        int[] unchanged = {0};
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            long now = written();
            unchanged[0] = now > 0 && now == last[0] ? unchanged[0] + 1 : 0;
            last[0] = now;
            return unchanged[0] >= 10;
        });
        return written();
    }
}
