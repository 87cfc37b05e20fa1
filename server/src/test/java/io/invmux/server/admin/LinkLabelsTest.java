package io.invmux.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.HealthState;
import io.invmux.Quality;
import io.invmux.SessionStats;
import org.junit.jupiter.api.Test;

class LinkLabelsTest {
    private static SessionStats.LinkStats link(String id, String remote) {
        return new SessionStats.LinkStats(id, "tcp", remote, 0, 1, HealthState.HEALTHY, 0, 0, 0, 0, 0, 0,
                Quality.UNKNOWN);
    }

    @Test
    void theDialingSideNamesTheAddressItDialed() {
        assertThat(LinkLabels.path(true, "10.0.0.5:7700", "10.0.0.7:41234")).isEqualTo("10.0.0.5:7700");
    }

    @Test
    void theAcceptingSideNamesTheRemoteHostAndItsListenerWithoutTheEphemeralPort() {
        assertThat(LinkLabels.path(false, "10.0.0.7:41234", "10.0.0.5:7700")).isEqualTo("10.0.0.7->10.0.0.5:7700");
        assertThat(LinkLabels.path(false, "[fd00::7]:41234", "[fd00::5]:7700")).isEqualTo("[fd00::7]->[fd00::5]:7700");
    }

    @Test
    void hostLeavesAnythingButANumericPortAlone() {
        assertThat(LinkLabels.host("10.0.0.7:41234")).isEqualTo("10.0.0.7");
        assertThat(LinkLabels.host("[fd00::7]:1")).isEqualTo("[fd00::7]");
        assertThat(LinkLabels.host("[fd00::7]")).isEqualTo("[fd00::7]");
        assertThat(LinkLabels.host("pod-a")).isEqualTo("pod-a");
        assertThat(LinkLabels.host("mem:pipe-3")).isEqualTo("mem:pipe-3");
        assertThat(LinkLabels.host("a:")).isEqualTo("a:");
    }

    @Test
    void linksOfOnePeerOnOnePathAreToldApartBySuffixesAndOtherPeersCountTheirOwn() {
        LinkLabels labels = new LinkLabels();
        assertThat(labels.next("b", true, link("1", "10.0.0.5:7700"), null)).isEqualTo("10.0.0.5:7700");
        assertThat(labels.next("b", true, link("2", "10.0.0.5:7700"), null)).isEqualTo("10.0.0.5:7700#2");
        assertThat(labels.next("b", true, link("3", "10.0.0.6:7700"), null)).isEqualTo("10.0.0.6:7700");
        assertThat(labels.next("c", true, link("1", "10.0.0.5:7700"), null)).isEqualTo("10.0.0.5:7700");
    }
}
