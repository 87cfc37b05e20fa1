package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A writer whose peer does not read blocks, instead of buffering without bound anywhere. */
@ExtendWith(SidecarPairExtension.class)
class BackPressureLiveTest {
    private static final long TOTAL = 192L << 20;

    @Test
    void aWriterBlocksWhileThePeerDoesNotRead(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA(); InvMuxClient b = pair.clientB()) {
            CompletableFuture<InvMuxStream> accepted = b.acceptStreamAsync("java-slow");
            InvMuxStream s = a.openStream(SidecarPair.PEER, "java-slow");
            InvMuxStream peer = accepted.get(10, TimeUnit.SECONDS);
            AtomicLong written = new AtomicLong();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try (OutputStream out = s.outputStream()) {
                    byte[] block = new byte[256 * 1024];
                    while (written.get() < TOTAL) {
                        out.write(block);
                        written.addAndGet(block.length);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // the peer does not read: the writer stops once the windows on the way are full
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(new Callable<Boolean>() {
                long last = -1;

                @Override
                public Boolean call() {
                    long now = written.get();
                    boolean stalled = now == last && now > 0;
                    last = now;
                    return stalled;
                }
            });
            long stalledAt = written.get();
            assertThat(writer).isNotDone();
            assertThat(stalledAt).as("bytes taken while nobody reads").isLessThan(TOTAL / 2);
            // reading releases the writer, and every byte arrives
            byte[] buf = new byte[256 * 1024];
            long read = 0;
            int r;
            while ((r = peer.inputStream().read(buf)) >= 0) {
                read += r;
            }
            writer.get(60, TimeUnit.SECONDS);
            assertThat(read).isEqualTo(TOTAL);
            peer.closeWrite();
            peer.close();
            assertThat(s.inputStream().read()).isEqualTo(-1);
            s.close();
            System.out.printf("back-pressure: the writer stalled after %d MiB while the peer did not read%n",
                    stalledAt >> 20);
        }
    }
}
