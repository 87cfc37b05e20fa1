package io.invmux.server.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.invmux.proto.v1.AddForwardRequest;
import io.invmux.proto.v1.AddForwardResponse;
import io.invmux.proto.v1.AddServiceRequest;
import io.invmux.proto.v1.AddServiceResponse;
import io.invmux.proto.v1.ErrorReason;
import io.invmux.proto.v1.Forward;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.ListForwardsRequest;
import io.invmux.proto.v1.ListForwardsResponse;
import io.invmux.proto.v1.ListServicesRequest;
import io.invmux.proto.v1.ListServicesResponse;
import io.invmux.proto.v1.RemoveForwardRequest;
import io.invmux.proto.v1.RemoveForwardResponse;
import io.invmux.proto.v1.RemoveServiceRequest;
import io.invmux.proto.v1.RemoveServiceResponse;
import io.invmux.proto.v1.Service;
import io.invmux.server.Forwards;
import io.invmux.server.admin.Bounds;
import io.invmux.server.config.SidecarConfig;
import io.invmux.server.config.TcpAddress;
import io.invmux.server.proxy.TcpForwarder;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.Optional;

/** Runtime management of the TCP forwarding proxy. */
public final class ForwardServiceImpl extends ForwardServiceGrpc.ForwardServiceImplBase {
    private final Forwards forwards;
    private final SidecarConfig.Exposure exposure;
    private final Bounds bounds;

    public ForwardServiceImpl(Forwards forwards, SidecarConfig.Exposure exposure, Bounds bounds) {
        this.forwards = forwards;
        this.exposure = exposure;
        this.bounds = bounds;
    }

    private static TcpAddress address(String field, String text, boolean zeroPort) {
        try {
            return TcpAddress.parse(text, zeroPort);
        } catch (IllegalArgumentException e) {
            throw Statuses.invalid(field, text, e.getMessage());
        }
    }

    private static Forward toProto(String listen, TcpForwarder f) {
        return Forward.newBuilder().setListen(listen).setBoundAddress(hostPort(f.boundAddress())).setPeer(f.peer())
                .setService(f.service()).build();
    }

    static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    @Override
    public void addForward(AddForwardRequest req, StreamObserver<AddForwardResponse> out) {
        try {
            TcpAddress listen = address("listen", req.getListen(), true);
            if (!exposure.allowNonLoopbackForwards() && !listen.isLoopback()) {
                bounds.refused("security.allowNonLoopbackForwards", "AddForward on "
                        + Bounds.shown(req.getListen()) + ": not a loopback address");
                throw ApiError.of(Status.Code.PERMISSION_DENIED, ErrorReason.ERROR_REASON_FORWARD_NOT_LOOPBACK,
                        "listen = '" + req.getListen() + "': a forward added through the API may listen only on "
                        + "loopback (127.0.0.1, ::1), since whoever reaches it opens streams to the peer's service; "
                        + "set security.allowNonLoopbackForwards to allow other addresses").field("listen")
                        .with("bound", "security.allowNonLoopbackForwards").asException();
            }
            if (!ConnectionServiceImpl.PEER_NAME.matcher(req.getPeer()).matches()) {
                throw Statuses.invalid("peer", req.getPeer(), "must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_', '-'");
            }
            StreamServiceImpl.checkService("service", req.getService());
            TcpForwarder f = forwards.addForward(req.getListen(), listen, req.getPeer(), req.getService());
            out.onNext(AddForwardResponse.newBuilder().setForward(toProto(req.getListen(), f)).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void removeForward(RemoveForwardRequest req, StreamObserver<RemoveForwardResponse> out) {
        try {
            if (!forwards.removeForward(req.getListen())) {
                throw Statuses.notFound(ErrorReason.ERROR_REASON_FORWARD_UNKNOWN, "no forward listening on '"
                        + req.getListen() + "'; forwards: " + forwards.forwards().keySet(), "address",
                        req.getListen());
            }
            out.onNext(RemoveForwardResponse.getDefaultInstance());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void listForwards(ListForwardsRequest req, StreamObserver<ListForwardsResponse> out) {
        try {
            List<Forward> all = new ArrayList<>();
            new TreeMap<>(forwards.forwards()).forEach((listen, f) -> all.add(toProto(listen, f)));
            Paging.Page<Forward> page = Paging.page(all, req.getPageSize(), req.getPageToken());
            out.onNext(ListForwardsResponse.newBuilder().addAllForwards(page.items())
                    .setNextPageToken(page.nextToken()).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void addService(AddServiceRequest req, StreamObserver<AddServiceResponse> out) {
        try {
            StreamServiceImpl.checkService("name", req.getName());
            TcpAddress target = address("target", req.getTarget(), false);
            InetSocketAddress resolved = target.toSocketAddress(); // may block on DNS: this is a gRPC executor thread
            Optional<String> refusal = exposure.serviceTargets().refusal(target.host(), resolved.getAddress());
            if (refusal.isPresent()) {
                bounds.refused("security.serviceTargets", "AddService " + Bounds.shown(req.getName()) + " -> "
                        + Bounds.shown(req.getTarget()) + ": " + refusal.get());
                throw ApiError.of(Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_TARGET_REFUSED, "target = '"
                        + req.getTarget() + "': " + refusal.get()).field("target")
                        .with("bound", "security.serviceTargets").asException();
            }
            Optional<InetSocketAddress> kept = forwards.addService(req.getName(), resolved, req.getReplaceExisting());
            if (kept.isPresent()) {
                bounds.refused("AddService.replace_existing", "AddService " + Bounds.shown(req.getName())
                        + ": already exists");
                throw ApiError.of(Status.Code.ALREADY_EXISTS, ErrorReason.ERROR_REASON_SERVICE_EXISTS, "service '"
                        + req.getName() + "' already exists, going to " + kept.get().getHostString() + ":"
                        + kept.get().getPort() + "; remove it first or set replace_existing to replace it")
                        .with("service", req.getName()).asException();
            }
            out.onNext(AddServiceResponse.newBuilder().setService(Service.newBuilder().setName(req.getName())
                    .setTarget(req.getTarget())).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void removeService(RemoveServiceRequest req, StreamObserver<RemoveServiceResponse> out) {
        if (!forwards.removeService(req.getName())) {
            out.onError(Statuses.notFound(ErrorReason.ERROR_REASON_SERVICE_UNKNOWN, "no service named '"
                    + req.getName() + "'; services: " + forwards.services().keySet(), "service", req.getName()));
            return;
        }
        out.onNext(RemoveServiceResponse.getDefaultInstance());
        out.onCompleted();
    }

    @Override
    public void listServices(ListServicesRequest req, StreamObserver<ListServicesResponse> out) {
        try {
            List<Service> all = new ArrayList<>();
            new TreeMap<>(forwards.services()).forEach((name, target) -> all.add(Service.newBuilder().setName(name)
                    .setTarget(target.getHostString() + ":" + target.getPort()).build()));
            Paging.Page<Service> page = Paging.page(all, req.getPageSize(), req.getPageToken());
            out.onNext(ListServicesResponse.newBuilder().addAllServices(page.items())
                    .setNextPageToken(page.nextToken()).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }
}
