package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.fault.FaultProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A metered link's budget: its rolling window, and what the scheduler does once it is spent. */
class LinkBudgetTest {
    private static final long MIB = 1024 * 1024;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private SessionListener listener;

    @AfterEach
    void stop() throws InterruptedException {
        proxies.forEach(FaultProxy::close);
        if (listener != null) {
            listener.close();
        }
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void theWindowRollsSlotBySlot() {
        AtomicLong now = new AtomicLong();
        long slot = Duration.ofHours(1).toNanos();
        LinkBudget b = LinkBudget.of(1000, Duration.ofDays(1), now::get);
        b.record(600);
        assertThat(b.exhausted()).isFalse();
        now.addAndGet(5 * slot);
        b.record(500);
        assertThat(b.exhausted()).isTrue();
        assertThat(b.usedBytes()).isEqualTo(1100);
        assertThat(b.remainingBytes()).isZero();
        assertThat(b.exhaustions()).isEqualTo(1);
        b.record(10); // still spent: the same exhaustion
        assertThat(b.exhaustions()).isEqualTo(1);

        now.addAndGet(19 * slot); // the first 600 bytes are now a whole day old
        assertThat(b.usedBytes()).isEqualTo(510);
        assertThat(b.exhausted()).isFalse();
        b.record(490);
        assertThat(b.exhausted()).isTrue();
        assertThat(b.exhaustions()).isEqualTo(2);

        now.addAndGet(3 * 24 * slot); // days later: everything forgotten
        assertThat(b.usedBytes()).isZero();
    }

    @Test
    void badBudgetsAreRefused() {
        assertThatThrownBy(() -> LinkBudget.perDay(0)).hasMessage("a link budget must be positive, got 0 bytes");
        assertThatThrownBy(() -> LinkBudget.of(1, Duration.ZERO))
                .hasMessage("a link budget's window must be positive, got PT0S");
    }

    @Test
    void aSpentLinkCarriesNothingMoreWhileAnotherLinkTakesDataAndIsTheLastResortAfter() throws Exception {
        listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"));
        int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        List<URI> uris = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            FaultProxy p = FaultProxy.start(new InetSocketAddress("127.0.0.1", port));
            proxies.add(p);
            uris.add(p.uri());
        }
        try (Pair p = Pair.connect(Config.defaults(), listener, uris)) {
            Connection unmetered = p.client.connections().get(0);
            Connection metered = p.client.connections().get(1);
            LinkBudget budget = LinkBudget.perDay(MIB);
            metered.setBudget(budget);
            assertThat(metered.budget()).containsSame(budget);

            transfer(p, 32 * MIB);
            long meteredBytes = linkStats(p.client, metered.id()).bytesSent();
            assertThat(budget.usedBytes()).as("the budget counts what the link sent").isEqualTo(meteredBytes);
            // Spent at most one chunk past the cap (the one that crossed it); the rest went on the other link.
            assertThat(meteredBytes).as("bytes on the metered link").isBetween(MIB, MIB + 32 * 1024);
            assertThat(budget.exhaustions()).isEqualTo(1);
            assertThat(linkStats(p.client, unmetered.id()).bytesSent()).isGreaterThanOrEqualTo(31 * MIB);

            // The unmetered path goes away for good: the spent link carries the session rather than none.
            proxies.get(0).refuse(true);
            proxies.get(0).reset();
            await().atMost(Duration.ofSeconds(20)).until(() -> p.client.connections().size() == 1);
            transfer(p, 4 * MIB);
            assertThat(linkStats(p.client, metered.id()).bytesSent()).isGreaterThanOrEqualTo(meteredBytes + 4 * MIB);
        }
    }

    private void transfer(Pair p, long size) throws Exception {
        Stream out = p.client.openStream();
        Future<TestData.Digest> got = pool.submit(() ->
                TestData.read(p.server.acceptStream(Duration.ofSeconds(10)).inputStream()));
        String sent = TestData.write(out.outputStream(), size, 64 * 1024, 11);
        out.closeWrite();
        assertThat(got.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
    }

    private static SessionStats.LinkStats linkStats(Session s, String id) {
        return s.stats().links().stream().filter(l -> l.id().equals(id)).findFirst().orElseThrow();
    }
}
