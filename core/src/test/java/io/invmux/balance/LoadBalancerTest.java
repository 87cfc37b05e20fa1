package io.invmux.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.invmux.Connection;
import io.invmux.LoadBalancer;
import io.invmux.testing.FakeConnection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The built-in balancers on synthetic link measurements. */
class LoadBalancerTest {
    private static final int CHUNK = 32 * 1024;

    private static LoadBalancer withLinks(LoadBalancer lb, Connection... links) {
        for (Connection c : links) {
            lb.onConnectionAdded(c);
        }
        return lb;
    }

    /** Plays a sender that gives {@code chunks} chunks to the balancer, queueing each on the link it picks. */
    private static Map<String, Integer> distribute(LoadBalancer lb, List<FakeConnection> links, int chunks) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < chunks; i++) {
            Connection c = lb.select(links, 1, CHUNK);
            FakeConnection f = (FakeConnection) c;
            f.queued(f.queuedBytes() + CHUNK);
            counts.merge(c.id(), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void earliestDeliveryPrefersTheFastLinkWhenQueuesAreEmpty() {
        FakeConnection fast = FakeConnection.of("fast", 100, 10);
        FakeConnection slow = FakeConnection.of("slow", 10, 10);
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), fast, slow);
        assertThat(lb.select(List.of(fast, slow), 1, CHUNK)).isSameAs(fast);
    }

    @Test
    void earliestDeliveryUsesTheSlowLinkOnlyWhenItDeliversSooner() {
        FakeConnection fast = FakeConnection.of("fast", 40, 10);
        FakeConnection slow = FakeConnection.of("slow", 10, 10);
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), fast, slow);
        // Shares follow the rates: about 4 chunks on the fast link for each on the slow one.
        Map<String, Integer> counts = distribute(lb, List.of(fast, slow), 500);
        assertThat(counts.get("fast") / (double) counts.get("slow")).isCloseTo(4.0, within(0.3));
    }

    @Test
    void earliestDeliveryNeverSendsOnALinkTooSlowToHelp() {
        FakeConnection fast = FakeConnection.of("fast", 100, 5);
        FakeConnection hopeless = FakeConnection.of("hopeless", 0.1, 400);
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), fast, hopeless);
        // 64 chunks queued on the fast link deliver in ~170 ms, sooner than one chunk over the hopeless one.
        Map<String, Integer> counts = distribute(lb, List.of(fast, hopeless), 64);
        assertThat(counts).containsOnlyKeys("fast");
    }

    @Test
    void earliestDeliveryHoldsAChunkForABusyLinkThatStillDeliversSooner() {
        FakeConnection fast = FakeConnection.of("fast", 100, 5).queued(64 * 1024);
        FakeConnection slow = FakeConnection.of("slow", 1, 50);
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), fast, slow);
        // Only the slow link is free, but the fast one, once it drains, delivers far sooner: wait for it.
        assertThat(lb.select(List.of(slow), 1, CHUNK)).isNull();
        // When the slow link is competitive, it is used.
        FakeConnection fair = FakeConnection.of("fair", 80, 5);
        LoadBalancer lb2 = withLinks(new EarliestDeliveryLoadBalancer(), fast, fair);
        assertThat(lb2.select(List.of(fair), 1, CHUNK)).isSameAs(fair);
    }

    @Test
    void earliestDeliveryIgnoresBusyLinksOfAnotherTierOrUnhealthy() {
        FakeConnection busyBackup = FakeConnection.of("backup", 1000, 1).queued(CHUNK);
        busyBackup.setPriority(-1);
        FakeConnection busySick = FakeConnection.of("sick", 1000, 1).queued(CHUNK)
                .health(io.invmux.HealthState.UNHEALTHY);
        FakeConnection slow = FakeConnection.of("slow", 1, 50);
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), busyBackup, busySick, slow);
        assertThat(lb.select(List.of(slow), 1, CHUNK)).isSameAs(slow);
    }

    /** A link suspected of stalling looks idle (its chunks were taken back) but will not free up: never wait for it. */
    @Test
    void earliestDeliveryNeverHoldsForALinkThatTakesNoData() {
        FakeConnection stalled = FakeConnection.of("stalled", 1000, 1).takesData(false);
        FakeConnection slow = FakeConnection.of("slow", 1, 50);
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), stalled, slow);
        assertThat(lb.select(List.of(slow), 1, CHUNK)).isSameAs(slow);
        stalled.takesData(true);
        assertThat(lb.select(List.of(slow), 1, CHUNK)).as("the same link taking data again is worth waiting for")
                .isNull();
    }

    @Test
    void earliestDeliveryProbesLinksWhoseRateIsUnknown() {
        FakeConnection known = FakeConnection.of("known", 10, 10);
        FakeConnection fresh = new FakeConnection("fresh");
        LoadBalancer lb = withLinks(new EarliestDeliveryLoadBalancer(), known, fresh);
        Map<String, Integer> counts = distribute(lb, List.of(known, fresh), 20);
        assertThat(counts.get("fresh")).isPositive();
    }

    @Test
    void roundRobinTakesLinksInTurn() {
        FakeConnection a = FakeConnection.of("a", 100, 1);
        FakeConnection b = FakeConnection.of("b", 1, 100);
        LoadBalancer lb = new RoundRobinLoadBalancer();
        Map<String, Integer> counts = distribute(lb, List.of(a, b), 100);
        assertThat(counts).containsEntry("a", 50).containsEntry("b", 50);
    }

    @Test
    void weightedSharesFollowWeightTimesRate() {
        FakeConnection a = FakeConnection.of("a", 30, 10);
        FakeConnection b = FakeConnection.of("b", 10, 10);
        b.setWeight(2); // 30×1 : 10×2 = 3 : 2
        LoadBalancer lb = new WeightedLoadBalancer();
        Map<String, Integer> counts = distribute(lb, List.of(a, b), 500);
        assertThat(counts).containsEntry("a", 300).containsEntry("b", 200);
    }

    @Test
    void weightedInterleavesRatherThanBursts() {
        FakeConnection a = FakeConnection.of("a", 10, 10);
        FakeConnection b = FakeConnection.of("b", 10, 10);
        LoadBalancer lb = new WeightedLoadBalancer();
        String first = lb.select(List.of(a, b), 1, CHUNK).id();
        String second = lb.select(List.of(a, b), 1, CHUNK).id();
        assertThat(first).isNotEqualTo(second);
    }

    @Test
    void lowestLatencyPicksTheQuickestLinkAndSkipsUnmeasuredOnes() {
        FakeConnection quick = FakeConnection.of("quick", 1, 5);
        FakeConnection slowRtt = FakeConnection.of("slowRtt", 1000, 50);
        FakeConnection unmeasured = new FakeConnection("new");
        LoadBalancer lb = new LowestLatencyLoadBalancer();
        assertThat(lb.select(List.of(slowRtt, unmeasured, quick), 1, CHUNK)).isSameAs(quick);
    }

    @Test
    void randomSpreadsEvenlyOverManyChunks() {
        FakeConnection a = new FakeConnection("a");
        FakeConnection b = new FakeConnection("b");
        LoadBalancer lb = new RandomLoadBalancer(new SplittableRandom(1));
        Map<String, Integer> counts = distribute(lb, List.of(a, b), 10_000);
        assertThat(counts.get("a") / 10_000.0).isCloseTo(0.5, within(0.03));
    }
}
