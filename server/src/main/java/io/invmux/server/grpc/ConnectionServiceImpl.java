package io.invmux.server.grpc;

import io.grpc.stub.StreamObserver;
import io.invmux.Connection;
import io.invmux.SessionStats;
import io.invmux.proto.v1.AddListenerRequest;
import io.invmux.proto.v1.AddListenerResponse;
import io.invmux.proto.v1.CloseSessionRequest;
import io.invmux.proto.v1.CloseSessionResponse;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DeleteLinkRequest;
import io.invmux.proto.v1.DeleteLinkResponse;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.DialLinkResponse;
import io.invmux.proto.v1.ErrorReason;
import io.invmux.proto.v1.GetLinkRequest;
import io.invmux.proto.v1.GetLinkResponse;
import io.invmux.proto.v1.GetSessionRequest;
import io.invmux.proto.v1.GetSessionResponse;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListLinksResponse;
import io.invmux.proto.v1.ListListenersRequest;
import io.invmux.proto.v1.ListListenersResponse;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.ListSessionsResponse;
import io.invmux.proto.v1.Listener;
import io.invmux.proto.v1.RemoveListenerRequest;
import io.invmux.proto.v1.RemoveListenerResponse;
import io.invmux.proto.v1.UpdateLinkRequest;
import io.invmux.proto.v1.UpdateLinkResponse;
import io.invmux.server.runtime.SidecarRuntime;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** Links, sessions and listeners. */
public final class ConnectionServiceImpl extends ConnectionServiceGrpc.ConnectionServiceImplBase {
    static final Pattern PEER_NAME = Pattern.compile("[A-Za-z0-9._-]{1,63}");
    private static final long DIAL_TIMEOUT_SECONDS = 30;

    private final SidecarRuntime runtime;

    public ConnectionServiceImpl(SidecarRuntime runtime) {
        this.runtime = runtime;
    }

    /** {@code address} as a link URI of a transport this sidecar has, or INVALID_ARGUMENT naming {@code field}. */
    private URI linkUri(String field, String address) {
        if (address.isEmpty()) {
            throw Statuses.invalid(field, address, "must be a link URI such as tcp://host:port");
        }
        URI uri;
        try {
            uri = new URI(address);
        } catch (java.net.URISyntaxException e) {
            throw Statuses.invalid(field, address, "is not a valid URI: " + e.getReason());
        }
        if (uri.getScheme() == null) {
            throw Statuses.invalid(field, address, "must be a link URI with a scheme, such as tcp://host:port");
        }
        try {
            runtime.connectionRegistry().factoryFor(uri);
        } catch (IllegalArgumentException e) {
            throw Statuses.invalid(field, address, e.getMessage());
        }
        return uri;
    }

    @Override
    public void dialLink(DialLinkRequest req, StreamObserver<DialLinkResponse> out) {
        try {
            if (!PEER_NAME.matcher(req.getPeer()).matches()) {
                throw Statuses.invalid("peer", req.getPeer(), "must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_', '-'");
            }
            URI uri = linkUri("address", req.getAddress());
            if (req.getPriority() < -100 || req.getPriority() > 100) {
                throw Statuses.invalid("priority", req.getPriority(), "must be between -100 and 100");
            }
            if (req.getWeight() < 0 || req.getWeight() > 1000 || Double.isNaN(req.getWeight())) {
                throw Statuses.invalid("weight", req.getWeight(), "must be between 0 (default 1) and 1000");
            }
            Connection c = runtime.dialLink(req.getPeer(), uri, req.getPriority(), req.getWeight())
                    .get(DIAL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            Link link = findLink(req.getPeer(), c.id());
            out.onNext(DialLinkResponse.newBuilder().setLink(link).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    private Link findLink(String peer, String linkId) throws Exception {
        SidecarRuntime.Tracked t = runtime.session(runtime.sessionFor(peer).id());
        for (SessionStats.LinkStats l : t.session().stats().links()) {
            if (l.id().equals(linkId)) {
                return ProtoMapper.link(t.session().id(), t.peer(), l);
            }
        }
        throw Statuses.notFound(ErrorReason.ERROR_REASON_LINK_UNKNOWN, "link " + linkId + " of peer '" + peer
                + "' went away", "link_id", linkId);
    }

    private List<Link> allLinks(String sessionId) {
        List<Link> links = new ArrayList<>();
        List<SidecarRuntime.Tracked> sessions = runtime.sessions();
        sessions.sort(Comparator.comparing(t -> t.session().id()));
        for (SidecarRuntime.Tracked t : sessions) {
            if (sessionId.isEmpty() || t.session().id().equals(sessionId)) {
                for (SessionStats.LinkStats l : t.session().stats().links()) {
                    links.add(ProtoMapper.link(t.session().id(), t.peer(), l));
                }
            }
        }
        return links;
    }

    private SidecarRuntime.Tracked requireSession(String sessionId) {
        if (sessionId.isEmpty()) {
            throw Statuses.invalid("session_id", sessionId, "must name a session (32 hex digits)");
        }
        SidecarRuntime.Tracked t = runtime.session(sessionId);
        if (t == null) {
            throw Statuses.notFound(ErrorReason.ERROR_REASON_SESSION_UNKNOWN, "no session with id '" + sessionId + "'",
                    "session_id", sessionId);
        }
        return t;
    }

    private Connection requireLink(String sessionId, String linkId) {
        SidecarRuntime.Tracked t = requireSession(sessionId);
        if (linkId.isEmpty()) {
            throw Statuses.invalid("link_id", linkId, "must name a link of the session");
        }
        for (Connection c : t.session().connections()) {
            if (c.id().equals(linkId)) {
                return c;
            }
        }
        throw Statuses.notFound(ErrorReason.ERROR_REASON_LINK_UNKNOWN, "session " + sessionId + " has no link '"
                + linkId + "'; links: " + t.session().connections().stream().map(Connection::id).toList(), "link_id",
                linkId);
    }

    private static io.grpc.StatusRuntimeException linkWentAway(String linkId) {
        return Statuses.notFound(ErrorReason.ERROR_REASON_LINK_UNKNOWN, "link '" + linkId + "' went away", "link_id",
                linkId);
    }

    @Override
    public void listLinks(ListLinksRequest req, StreamObserver<ListLinksResponse> out) {
        try {
            if (!req.getSessionId().isEmpty()) {
                requireSession(req.getSessionId());
            }
            Paging.Page<Link> page = Paging.page(allLinks(req.getSessionId()), req.getPageSize(), req.getPageToken());
            out.onNext(ListLinksResponse.newBuilder().addAllLinks(page.items()).setNextPageToken(page.nextToken())
                    .build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void getLink(GetLinkRequest req, StreamObserver<GetLinkResponse> out) {
        try {
            requireLink(req.getSessionId(), req.getLinkId());
            Link link = allLinks(req.getSessionId()).stream().filter(l -> l.getLinkId().equals(req.getLinkId()))
                    .findFirst().orElseThrow(() -> linkWentAway(req.getLinkId()));
            out.onNext(GetLinkResponse.newBuilder().setLink(link).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void updateLink(UpdateLinkRequest req, StreamObserver<UpdateLinkResponse> out) {
        try {
            Connection c = requireLink(req.getSessionId(), req.getLinkId());
            if (req.hasPriority()) {
                if (req.getPriority() < -100 || req.getPriority() > 100) {
                    throw Statuses.invalid("priority", req.getPriority(), "must be between -100 and 100");
                }
                c.setPriority(req.getPriority());
            }
            if (req.hasWeight()) {
                if (!(req.getWeight() > 0) || req.getWeight() > 1000) {
                    throw Statuses.invalid("weight", req.getWeight(), "must be greater than 0 and at most 1000");
                }
                c.setWeight(req.getWeight());
            }
            Link link = allLinks(req.getSessionId()).stream().filter(l -> l.getLinkId().equals(req.getLinkId()))
                    .findFirst().orElseThrow(() -> linkWentAway(req.getLinkId()));
            out.onNext(UpdateLinkResponse.newBuilder().setLink(link).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void deleteLink(DeleteLinkRequest req, StreamObserver<DeleteLinkResponse> out) {
        try {
            requireLink(req.getSessionId(), req.getLinkId());
            runtime.session(req.getSessionId()).session().removeConnection(req.getLinkId())
                    .get(DIAL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            out.onNext(DeleteLinkResponse.getDefaultInstance());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void listSessions(ListSessionsRequest req, StreamObserver<ListSessionsResponse> out) {
        try {
            List<SidecarRuntime.Tracked> all = runtime.sessions();
            all.sort(Comparator.comparing(t -> t.session().id()));
            Paging.Page<SidecarRuntime.Tracked> page = Paging.page(all, req.getPageSize(), req.getPageToken());
            ListSessionsResponse.Builder b = ListSessionsResponse.newBuilder().setNextPageToken(page.nextToken());
            for (SidecarRuntime.Tracked t : page.items()) {
                b.addSessions(ProtoMapper.session(t));
            }
            out.onNext(b.build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void getSession(GetSessionRequest req, StreamObserver<GetSessionResponse> out) {
        try {
            out.onNext(GetSessionResponse.newBuilder().setSession(ProtoMapper.session(
                    requireSession(req.getSessionId()))).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void closeSession(CloseSessionRequest req, StreamObserver<CloseSessionResponse> out) {
        try {
            requireSession(req.getSessionId()).session().close();
            out.onNext(CloseSessionResponse.getDefaultInstance());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void addListener(AddListenerRequest req, StreamObserver<AddListenerResponse> out) {
        try {
            linkUri("address", req.getAddress());
            String bound;
            try {
                bound = runtime.addListenAddress(req.getAddress()).get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof java.io.IOException) { // the bind failed: the address is taken
                    throw ApiError.of(io.grpc.Status.Code.FAILED_PRECONDITION, ErrorReason.ERROR_REASON_ADDRESS_IN_USE,
                            "address = '" + req.getAddress() + "': cannot listen there: " + e.getCause().getMessage())
                            .field("address").cause(e.getCause()).asException();
                }
                throw e;
            }
            out.onNext(AddListenerResponse.newBuilder().setListener(Listener.newBuilder()
                    .setAddress(req.getAddress()).setBoundAddress(bound)).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void removeListener(RemoveListenerRequest req, StreamObserver<RemoveListenerResponse> out) {
        try {
            if (!runtime.removeListenAddress(req.getAddress()).get(10, TimeUnit.SECONDS)) {
                throw Statuses.notFound(ErrorReason.ERROR_REASON_LISTENER_UNKNOWN, "no listener on '"
                        + req.getAddress() + "'; listeners: " + runtime.listenAddresses().keySet(), "address",
                        req.getAddress());
            }
            out.onNext(RemoveListenerResponse.getDefaultInstance());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }

    @Override
    public void listListeners(ListListenersRequest req, StreamObserver<ListListenersResponse> out) {
        try {
            List<Listener> all = new ArrayList<>();
            new TreeMap<>(runtime.listenAddresses()).forEach((address, bound) ->
                    all.add(Listener.newBuilder().setAddress(address).setBoundAddress(bound).build()));
            Paging.Page<Listener> page = Paging.page(all, req.getPageSize(), req.getPageToken());
            out.onNext(ListListenersResponse.newBuilder().addAllListeners(page.items())
                    .setNextPageToken(page.nextToken()).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Statuses.from(e));
        }
    }
}
