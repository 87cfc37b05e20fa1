package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SessionSmokeTest {
    @Test
    void echoOverThreeTcpLinks() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 3)) {
            Stream s = p.client.openStream("echo".getBytes());
            CompletableFuture<TestData.Digest> serverSide = CompletableFuture.supplyAsync(() -> {
                try {
                    Stream in = p.server.acceptStream(Duration.ofSeconds(10));
                    assertThat(new String(in.metadata())).isEqualTo("echo");
                    TestData.Digest d = TestData.read(in.inputStream());
                    in.outputStream().write("bye".getBytes());
                    in.closeWrite();
                    return d;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            String sent = TestData.write(s.outputStream(), 8 * 1024 * 1024, 10_000, 1);
            s.closeWrite();
            TestData.Digest got = serverSide.get();
            assertThat(got.sha256()).isEqualTo(sent);
            assertThat(new String(s.inputStream().readAllBytes())).isEqualTo("bye");
            s.closeFuture().get();
            assertThat(p.client.stats().links()).hasSize(3).allSatisfy(l -> assertThat(l.chunksSent()).isPositive());
        }
    }
}
