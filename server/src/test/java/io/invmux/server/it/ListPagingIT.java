package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.invmux.proto.v1.AddForwardRequest;
import io.invmux.proto.v1.AddListenerRequest;
import io.invmux.proto.v1.AddServiceRequest;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.Forward;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.ListForwardsRequest;
import io.invmux.proto.v1.ListForwardsResponse;
import io.invmux.proto.v1.ListListenersRequest;
import io.invmux.proto.v1.ListListenersResponse;
import io.invmux.proto.v1.ListServicesRequest;
import io.invmux.proto.v1.ListServicesResponse;
import io.invmux.proto.v1.Listener;
import io.invmux.proto.v1.Service;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * ListListeners, ListForwards and ListServices page like ListLinks and ListSessions: page_size items at most,
 * sorted, a next_page_token until the last page; walking the pages gives every item once. (A bad token or size:
 * ErrorDetailsIT.)
 */
@Timeout(120)
class ListPagingIT {
    private static final int ITEMS = 5;
    private static SidecarProcess sidecar;
    private static ManagedChannel api;

    @BeforeAll
    static void start() throws Exception {
        sidecar = SidecarProcess.start("paging", List.of("admin.address=", "listeners=[]"), List.of());
        api = ApiChannels.open(sidecar, null);
        var connections = ConnectionServiceGrpc.newBlockingStub(api).withDeadlineAfter(30, TimeUnit.SECONDS);
        var forwards = ForwardServiceGrpc.newBlockingStub(api).withDeadlineAfter(30, TimeUnit.SECONDS);
        for (int i = 0; i < ITEMS; i++) {
            connections.addListener(AddListenerRequest.newBuilder().setAddress("tcp://127.0.0." + (i + 1) + ":0").build());
            forwards.addService(AddServiceRequest.newBuilder().setName("svc-" + i).setTarget("127.0.0.1:" + (1000 + i))
                    .build());
            forwards.addForward(AddForwardRequest.newBuilder().setListen("127.0.0." + (i + 1) + ":0").setPeer("p")
                    .setService("svc-" + i).build());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (api != null) {
            api.shutdownNow();
        }
        assertThat(sidecar.stop()).isZero();
    }

    /** Every page of a list of size 2, as (page sizes, all items in order). */
    private static <R> List<List<String>> walk(BiFunction<Integer, String, R> call, Function<R, List<String>> items,
            Function<R, String> next) {
        List<List<String>> pages = new ArrayList<>();
        String token = "";
        do {
            R r = call.apply(2, token);
            pages.add(items.apply(r));
            token = next.apply(r);
        } while (!token.isEmpty() && pages.size() <= ITEMS);
        return pages;
    }

    private static void assertPagedInOrder(List<List<String>> pages) {
        assertThat(pages).extracting(List::size).containsExactly(2, 2, 1);
        List<String> all = pages.stream().flatMap(List::stream).toList();
        assertThat(all).doesNotHaveDuplicates().isSorted().hasSize(ITEMS);
    }

    @Test
    void listenersComeAPageAtATime() {
        var stub = ConnectionServiceGrpc.newBlockingStub(api).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertPagedInOrder(walk((size, token) -> stub.listListeners(ListListenersRequest.newBuilder()
                .setPageSize(size).setPageToken(token).build()),
                (ListListenersResponse r) -> r.getListenersList().stream().map(Listener::getAddress).toList(),
                ListListenersResponse::getNextPageToken));
    }

    @Test
    void servicesComeAPageAtATime() {
        var stub = ForwardServiceGrpc.newBlockingStub(api).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertPagedInOrder(walk((size, token) -> stub.listServices(ListServicesRequest.newBuilder()
                .setPageSize(size).setPageToken(token).build()),
                (ListServicesResponse r) -> r.getServicesList().stream().map(Service::getName).toList(),
                ListServicesResponse::getNextPageToken));
    }

    @Test
    void forwardsComeAPageAtATime() {
        var stub = ForwardServiceGrpc.newBlockingStub(api).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertPagedInOrder(walk((size, token) -> stub.listForwards(ListForwardsRequest.newBuilder()
                .setPageSize(size).setPageToken(token).build()),
                (ListForwardsResponse r) -> r.getForwardsList().stream().map(Forward::getListen).toList(),
                ListForwardsResponse::getNextPageToken));
    }

    @Test
    void aPageSizeOfZeroGivesEverythingUpToTheDefaultInOnePage() {
        var stub = ForwardServiceGrpc.newBlockingStub(api).withDeadlineAfter(30, TimeUnit.SECONDS);
        ListServicesResponse r = stub.listServices(ListServicesRequest.getDefaultInstance());
        assertThat(r.getServicesList()).hasSize(ITEMS);
        assertThat(r.getNextPageToken()).isEmpty();
    }
}
