package io.invmux.server.proxy;

import static io.invmux.server.proxy.Bytes.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.server.proxy.Bytes.Digest;
import io.netty.buffer.PooledByteBufAllocator;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A far end that stops reading must stop the writer at the near end, through the whole proxy, instead of the
 * bytes piling up in memory anywhere on the way.
 */
class TcpProxyBackPressureTest {
    private static final long SIZE = 256L * MIB;

    @Test
    void stalledReaderStopsTheWriterAndNothingPilesUp() throws Exception {
        CountDownLatch startReading = new CountDownLatch(1);
        CompletableFuture<Digest> received = new CompletableFuture<>();
        try (ProxyFixture fixture = ProxyFixture.start(Config.defaults(), 2);
                TestServer sink = TestServer.start(s -> {
                    try (s) {
                        startReading.await();
                        received.complete(Bytes.drain(s.getInputStream()));
                    }
                });
                Socket client = new Socket()) {
            fixture.map("sink", sink.address());
            TcpForwarder forwarder = fixture.forward("sink");
            long heapBefore = usedHeapAfterGc();
            long directBefore = nettyDirectMemory();

            client.connect(forwarder.boundAddress(), 10_000);
            Progress out = new Progress(client.getOutputStream());
            CompletableFuture<Digest> sent = Async.run("writer", () -> {
                Digest d = Bytes.write(out, SIZE, 7);
                client.shutdownOutput();
                return d;
            });

            long held = out.awaitStalled();
            long heapGrowth = usedHeapAfterGc() - heapBefore;
            long directGrowth = nettyDirectMemory() - directBefore;
            System.out.printf("back-pressure: writer stuck after %.1f MiB of %d MiB; heap growth %.1f MiB, Netty "
                    + "direct memory growth %.1f MiB; stream bytes taken by the forwarder %.1f MiB%n",
                    held / (double) MIB, SIZE / MIB, heapGrowth / (double) MIB, directGrowth / (double) MIB,
                    forwarder.stats().bytesIn() / (double) MIB);

            assertThat(sent).isNotDone();
            // Socket buffers on both ends, the stream windows and the bridges' few chunks: tens of MiB at most.
            assertThat(held).isLessThan(64L * MIB);
            assertThat(heapGrowth).isLessThan(200L * MIB);
            assertThat(directGrowth).isLessThan(64L * MIB);

            // Once the far end reads again, everything arrives, intact.
            startReading.countDown();
            Digest d = sent.get(60, TimeUnit.SECONDS);
            assertThat(received.get(60, TimeUnit.SECONDS)).isEqualTo(d);
            assertThat(d.count()).isEqualTo(SIZE);
        }
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Direct memory the pooled allocator (which sessions and channels use) holds from the system. */
    private static long nettyDirectMemory() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }
}
