package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.invmux.proto.v1.AddForwardRequest;
import io.invmux.proto.v1.AddServiceRequest;
import io.invmux.proto.v1.Forward;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.ListServicesRequest;
import io.invmux.proto.v1.RemoveForwardRequest;
import io.invmux.proto.v1.RemoveServiceRequest;
import io.invmux.proto.v1.Service;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What one application may do to the forwarding proxy that others rely on, on a sidecar process: a service is not
 * taken over without saying so, services reach only the addresses security.serviceTargets allows, forwards
 * added through the API listen on loopback only, and an API other hosts could reach needs a token.
 */
@Timeout(120)
class ForwardIsolationIT {
    private static SidecarProcess sidecar;
    private static int adminPort;
    private static final ApiChannels channels = new ApiChannels();

    @BeforeAll
    static void start() throws Exception {
        adminPort = SidecarProcess.freePort();
        sidecar = SidecarProcess.start("pod-iso", List.of("admin.address=127.0.0.1:" + adminPort, "listeners=[]",
                "services=[{name: configured, target: '127.0.0.1:9001'}]"), List.of());
    }

    /** {@code invmux_refusals_total} of one bound, 0 before the first refusal. */
    static double refusals(int adminPort, String bound) throws Exception {
        return PrometheusText.scrape(adminPort).stream().filter(x -> x.name().equals("invmux_refusals_total")
                && bound.equals(x.label("bound"))).mapToDouble(PrometheusText.Sample::value).sum();
    }

    @AfterAll
    static void stop() throws Exception {
        channels.close();
        assertThat(sidecar.stop()).isZero();
    }

    @AfterEach
    void removeRuntimeServices() {
        for (Service s : forwards().listServices(ListServicesRequest.getDefaultInstance()).getServicesList()) {
            if (!s.getName().equals("configured")) {
                forwards().removeService(RemoveServiceRequest.newBuilder().setName(s.getName()).build());
            }
        }
    }

    private static ForwardServiceGrpc.ForwardServiceBlockingStub forwards() {
        return ForwardServiceGrpc.newBlockingStub(channels.to(sidecar)).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static Status failure(ThrowingCallable call) {
        StatusRuntimeException[] caught = new StatusRuntimeException[1];
        assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> caught[0] = e);
        return caught[0].getStatus();
    }

    private static AddServiceRequest.Builder service(String name, String target) {
        return AddServiceRequest.newBuilder().setName(name).setTarget(target);
    }

    private static String targetOf(String name) {
        return forwards().listServices(ListServicesRequest.getDefaultInstance()).getServicesList().stream()
                .filter(s -> s.getName().equals(name)).map(Service::getTarget).findFirst().orElseThrow();
    }

    @Test
    void addingAServiceNameTakenByAnotherTargetFailsAlreadyExistsAndKeepsTheFirst() {
        forwards().addService(service("db", "127.0.0.1:5432").build());
        Status s = failure(() -> forwards().addService(service("db", "127.0.0.1:6543").build()));
        assertThat(s.getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
        assertThat(s.getDescription()).isEqualTo("service 'db' already exists, going to 127.0.0.1:5432; remove it "
                + "first or set replace_existing to replace it");
        assertThat(targetOf("db")).isEqualTo("127.0.0.1:5432");
        // A service from the configuration is protected the same way.
        assertThat(failure(() -> forwards().addService(service("configured", "127.0.0.1:6543").build())).getCode())
                .isEqualTo(Status.Code.ALREADY_EXISTS);
        assertThat(targetOf("configured")).isEqualTo("127.0.0.1:9001");
    }

    @Test
    void addingTheSameServiceAgainSucceedsAndReplaceExistingReplaces() {
        forwards().addService(service("cache", "127.0.0.1:6379").build());
        assertThat(forwards().addService(service("cache", "127.0.0.1:6379").build()).getService().getTarget())
                .isEqualTo("127.0.0.1:6379");
        forwards().addService(service("cache", "127.0.0.1:6380").setReplaceExisting(true).build());
        assertThat(targetOf("cache")).isEqualTo("127.0.0.1:6380");
    }

    @Test
    void aServiceTargetOutsideTheAllowListIsRefusedNamingFieldValueAndRuleAndCounted() throws Exception {
        double before = refusals(adminPort, "security.serviceTargets");
        Status meta = failure(() -> forwards().addService(service("meta", "169.254.169.254:80").build()));
        assertThat(meta.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(meta.getDescription()).isEqualTo("target = '169.254.169.254:80': 169.254.169.254 is a "
                + "link-local or cloud metadata address (169.254.0.0/16): refused unless security.serviceTargets "
                + "names it or a range within 169.254.0.0/16");
        Status lan = failure(() -> forwards().addService(service("lan", "10.20.30.40:80").build()));
        assertThat(lan.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(lan.getDescription()).startsWith("target = '10.20.30.40:80': security.serviceTargets does not "
                + "allow 10.20.30.40; allowed: 127.0.0.0/8, ::1/128;");
        assertThat(forwards().listServices(ListServicesRequest.getDefaultInstance()).getServicesList())
                .extracting(Service::getName).containsExactly("configured");
        assertThat(refusals(adminPort, "security.serviceTargets")).isEqualTo(before + 2);
        sidecar.awaitLine("refused at security.serviceTargets: AddService 'meta' -> '169.254.169.254:80'", 10);
    }

    @Test
    void aForwardOnANonLoopbackAddressIsRefusedThroughTheApiAndOnLoopbackAccepted() throws Exception {
        double before = refusals(adminPort, "security.allowNonLoopbackForwards");
        Status s = failure(() -> forwards().addForward(AddForwardRequest.newBuilder().setListen("0.0.0.0:0")
                .setPeer("pod-x").setService("svc").build()));
        assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(s.getDescription()).isEqualTo("listen = '0.0.0.0:0': a forward added through the API may "
                + "listen only on loopback (127.0.0.1, ::1), since whoever reaches it opens streams to the peer's "
                + "service; set security.allowNonLoopbackForwards to allow other addresses");
        assertThat(refusals(adminPort, "security.allowNonLoopbackForwards")).isEqualTo(before + 1);
        Forward f = forwards().addForward(AddForwardRequest.newBuilder().setListen("127.0.0.1:0").setPeer("pod-x")
                .setService("svc").build()).getForward();
        assertThat(f.getBoundAddress()).startsWith("127.0.0.1:");
        forwards().removeForward(RemoveForwardRequest.newBuilder().setListen(f.getListen()).build());
    }

    @Test
    void anApiOnANonLoopbackAddressWithoutATokenDoesNotStartNamingTheKey() throws Exception {
        SidecarProcess.Result r = SidecarProcess.run(List.of("sidecar", "--set", "identity=pod-open", "--set",
                "api.address=0.0.0.0:0", "--set", "admin.address=", "--set", "listeners=[]"));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.output()).contains("api.address = 0.0.0.0:0: the API would listen on an address other hosts "
                + "may reach, with no token");
    }
}
