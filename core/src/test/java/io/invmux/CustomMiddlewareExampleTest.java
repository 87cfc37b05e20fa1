package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The custom middleware of the README: logs each stream's byte counts when it closes. */
class CustomMiddlewareExampleTest {
    /** Counts the bytes each stream sends and receives and logs them when the stream closes. */
    static final class ByteCountingMiddleware implements Middleware {
        private static final Logger log = LoggerFactory.getLogger(ByteCountingMiddleware.class);
        final Map<Integer, LongAdder> sent = new ConcurrentHashMap<>();
        final Map<Integer, LongAdder> received = new ConcurrentHashMap<>();
        final Map<Integer, Long> closedTotals = new ConcurrentHashMap<>();

        @Override
        public String name() {
            return "byte-count";
        }

        @Override
        public Middleware forSession(Config config) {
            return new ByteCountingMiddleware(); // per-stream state: one instance per session
        }

        @Override
        public ByteBuf processOutbound(int streamId, ByteBuf chunk) {
            sent.computeIfAbsent(streamId, id -> new LongAdder()).add(chunk.readableBytes());
            return chunk;
        }

        @Override
        public ByteBuf processInbound(int streamId, ByteBuf chunk) {
            received.computeIfAbsent(streamId, id -> new LongAdder()).add(chunk.readableBytes());
            return chunk;
        }

        @Override
        public void onStreamClose(int streamId) {
            long out = sum(sent, streamId);
            long in = sum(received, streamId);
            closedTotals.put(streamId, out + in);
            log.info("stream {}: {} bytes sent, {} received", streamId, out, in);
        }

        private static long sum(Map<Integer, LongAdder> m, int id) {
            LongAdder a = m.get(id);
            return a == null ? 0 : a.sum();
        }
    }

    @Test
    void aByteCountingMiddlewareSeesEveryStreamsBytesBothWays() throws Exception {
        Config config = Config.builder().middleware(List.of(new ByteCountingMiddleware())).build();
        try (Pair p = Pair.tcp(config, 2)) {
            Stream out = p.client.openStream();
            out.outputStream().write(new byte[100_000]);
            out.closeWrite();
            Stream in = p.server.acceptStream(java.time.Duration.ofSeconds(10));
            assertThat(in.inputStream().readAllBytes()).hasSize(100_000);
            in.outputStream().write(new byte[1234]);
            in.closeWrite();
            assertThat(out.inputStream().readAllBytes()).hasSize(1234);

            ByteCountingMiddleware client = (ByteCountingMiddleware) p.client.middleware().get(0);
            ByteCountingMiddleware server = (ByteCountingMiddleware) p.server.middleware().get(0);
            assertThat(client).isNotSameAs(server);
            assertThat(client.sent.get(out.id()).sum()).isEqualTo(100_000);
            assertThat(server.received.get(out.id()).sum()).isGreaterThanOrEqualTo(100_000);
            assertThat(server.sent.get(out.id()).sum()).isEqualTo(1234);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> client.closedTotals.containsKey(out.id()));
        }
    }
}
