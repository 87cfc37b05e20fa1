package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.Session;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Sessions and links through the client: list, dial one more, remove it. */
@ExtendWith(SidecarPairExtension.class)
class ManagementLiveTest {

    @Test
    void listDialAndRemoveLinks(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> a.listLinks().size() == 2);
            List<Session> sessions = a.listSessions();
            assertThat(sessions).singleElement().satisfies(s -> {
                assertThat(s.getPeer()).isEqualTo(SidecarPair.PEER);
                assertThat(s.getDialer()).isTrue();
            });
            String session = sessions.get(0).getSessionId();
            assertThat(a.listLinks(session)).hasSize(2);

            Link added = a.dialLink(SidecarPair.PEER, "tcp://127.0.0.1:" + pair.directLinkPort() + "?sndbuf=262144");
            assertThat(added.getSessionId()).isEqualTo(session);
            assertThat(a.listLinks(session)).extracting(Link::getLinkId).contains(added.getLinkId()).hasSize(3);
            assertThat(a.getStats().getSessionsList()).singleElement()
                    .satisfies(s -> assertThat(s.getLinksCount()).isEqualTo(3));

            a.removeLinkAsync(session, added.getLinkId()).get();
            await().atMost(Duration.ofSeconds(10)).until(() -> a.listLinks(session).size() == 2);
        }
    }
}
