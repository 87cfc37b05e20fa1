"""The InvMux client: streams, links and sessions, and health of one sidecar."""

from __future__ import annotations

import os
import threading
import time
from typing import Iterator, List, Mapping, Optional

import grpc
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ._errors import InvMuxError
from ._stream import Stream, _Requests
from .v1 import common_pb2
from .v1 import connection_service_pb2 as conn_pb
from .v1 import connection_service_pb2_grpc as conn_grpc
from .v1 import monitor_service_pb2 as mon_pb
from .v1 import monitor_service_pb2_grpc as mon_grpc
from .v1 import stream_service_pb2 as stream_pb
from .v1 import stream_service_pb2_grpc as stream_grpc

#: Sidecar API address used when neither the argument nor $INVMUX_GRPC_ENDPOINT is set.
DEFAULT_ENDPOINT = "127.0.0.1:7701"
ENV_ENDPOINT = "INVMUX_GRPC_ENDPOINT"
ENV_TOKEN = "INVMUX_API_TOKEN"

# A local sidecar that restarts should be found again quickly.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
)
# A broken watch is opened again after these delays (doubling), until it gets a snapshot.
_WATCH_MIN_BACKOFF_S = 0.1
_WATCH_MAX_BACKOFF_S = 5.0
_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED,
}


class Client:
    """A client of one InvMux sidecar.

    ``endpoint`` is ``host:port`` or ``unix:///path`` (default: $INVMUX_GRPC_ENDPOINT, else 127.0.0.1:7701);
    ``token`` the API token (default: $INVMUX_API_TOKEN), sent as ``authorization: Bearer <token>``.
    Use it as a context manager, or call :meth:`close`. Thread-safe.
    """

    def __init__(self, endpoint: Optional[str] = None, token: Optional[str] = None, *,
                 options: Optional[list] = None):
        self.endpoint = endpoint or os.environ.get(ENV_ENDPOINT) or DEFAULT_ENDPOINT
        token = os.environ.get(ENV_TOKEN) if token is None else token
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = grpc.insecure_channel(self.endpoint, options=list(_CHANNEL_OPTIONS) + list(options or []))
        self.streams = stream_grpc.StreamServiceStub(self._channel)
        self.connections = conn_grpc.ConnectionServiceStub(self._channel)
        self.monitor = mon_grpc.MonitorServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Closes the connection; open streams fail."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_for_sidecar(self, timeout: float = 30.0) -> None:
        """Polls the sidecar's gRPC health service ("readiness") until it is SERVING: its listeners are bound and
        every configured peer has a session. Raises :class:`TimeoutError` naming the endpoint and the last answer
        when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        delay, last = 0.05, "no answer yet"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"InvMux sidecar at {self.endpoint} not ready within {timeout:g} s (last answer: {last}); "
                    f"is the sidecar running, and is {ENV_ENDPOINT} right?")
            try:
                r = self._health.Check(health_pb2.HealthCheckRequest(service="readiness"),
                                       timeout=min(1.0, remaining))
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = "readiness " + health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
            except grpc.RpcError as e:
                last = f"{e.code().name}: {e.details()}"
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)

    # ---------------------------------------------------------------- streams

    def open_stream(self, peer: str, service: str, metadata: Optional[Mapping[str, str]] = None,
                    timeout: Optional[float] = None) -> Stream:
        """Opens a stream to ``service`` of ``peer`` (a configured peer name or a session id), with optional
        metadata the accepting application sees. ``timeout`` bounds the opening only.

        Raises :class:`InvMuxError`: INVALID_ARGUMENT (naming the field), NOT_FOUND (unknown peer), UNAVAILABLE.
        """
        first = stream_pb.OpenStreamRequest(open=stream_pb.StreamTarget(peer=peer, service=service,
                                                                         metadata=dict(metadata or {})))
        requests = _Requests(first)
        call = self.streams.OpenStream(requests, metadata=self._metadata)
        msg = self._first(call, requests, timeout, f"opening a stream to {peer}/{service}")
        if msg.WhichOneof("frame") != "opened":
            call.cancel()
            raise InvMuxError(grpc.StatusCode.INTERNAL, f"the sidecar's first message was not 'opened': {msg}")
        return Stream(call, requests, msg.opened, lambda b: stream_pb.OpenStreamRequest(data=b))

    def accept_stream(self, service: str, timeout: Optional[float] = None) -> Stream:
        """Waits for the next stream a peer opens to ``service`` and returns it. ``timeout`` bounds the waiting
        (default: wait as long as it takes). Start it before the peer opens, or within the sidecar's pending
        timeout (10 s by default); several threads may accept at once."""
        requests = _Requests(stream_pb.AcceptStreamRequest(accept=stream_pb.AcceptTarget(service=service)))
        call = self.streams.AcceptStream(requests, metadata=self._metadata)
        msg = self._first(call, requests, timeout, f"accepting a stream for {service}")
        if msg.WhichOneof("frame") != "accepted":
            call.cancel()
            raise InvMuxError(grpc.StatusCode.INTERNAL, f"the sidecar's first message was not 'accepted': {msg}")
        return Stream(call, requests, msg.accepted, lambda b: stream_pb.AcceptStreamRequest(data=b))

    @staticmethod
    def _first(call, requests: _Requests, timeout: Optional[float], what: str):
        timed_out = threading.Event()
        timer = None
        if timeout is not None:
            def expire():
                timed_out.set()
                call.cancel()
            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            return next(call)
        except StopIteration:
            requests.aborted.set()
            raise InvMuxError(grpc.StatusCode.INTERNAL, f"{what}: the call ended before its first message") from None
        except grpc.RpcError as e:
            requests.aborted.set()
            if timed_out.is_set():
                raise TimeoutError(f"{what}: no answer within {timeout:g} s") from None
            raise InvMuxError.from_rpc(e) from None
        finally:
            if timer is not None:
                timer.cancel()

    # ---------------------------------------------------------------- health

    def watch_health(self, quality_interval: Optional[float] = None, session_id: str = "",
                     resubscribe: bool = True) -> Iterator[mon_pb.WatchHealthResponse]:
        """Yields the sidecar's health events: first a ``snapshot`` of every session and link, then ``link_up``,
        ``link_down``, ``state_change``, ``quality`` (every ``quality_interval`` seconds, at least 0.1, when
        given) and ``session`` events as they happen (``event.WhichOneof("event")`` tells which).

        When the watch breaks (the sidecar restarts, or this watcher fell too far behind) it is opened again with
        backoff (0.1 s doubling to 5 s) and goes on with a fresh snapshot, unless ``resubscribe`` is false; while
        the sidecar is unreachable the watch waits for it.
        Errors that another try would not cure (INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND...) raise
        :class:`InvMuxError`. Events are received only as fast as they are consumed; closing the generator
        (``break``, ``close()``) ends the call."""
        req = mon_pb.WatchHealthRequest(session_id=session_id)
        if quality_interval:
            req.quality_interval.CopyFrom(duration_pb2.Duration(seconds=int(quality_interval),
                                                                nanos=int(round(quality_interval % 1 * 1e9))))
        delay = _WATCH_MIN_BACKOFF_S
        while True:
            # wait-for-ready: a watch opened while the sidecar is down (or restarting) starts once it is back
            call = self.monitor.WatchHealth(req, metadata=self._metadata, wait_for_ready=True)
            try:
                for event in call:
                    if event.WhichOneof("event") == "snapshot":
                        delay = _WATCH_MIN_BACKOFF_S
                    yield event
                error = None
            except grpc.RpcError as e:
                error = e
            finally:
                call.cancel()
            if error is not None and (not resubscribe or error.code() not in _RETRYABLE):
                raise InvMuxError.from_rpc(error)
            if not resubscribe:
                return
            time.sleep(delay)
            delay = min(delay * 2, _WATCH_MAX_BACKOFF_S)

    def get_stats(self) -> mon_pb.GetStatsResponse:
        """Counters of every session and link now."""
        return self._unary(self.monitor.GetStats, mon_pb.GetStatsRequest())

    # ---------------------------------------------------------------- links and sessions

    def dial_link(self, peer: str, address: str, priority: int = 0, weight: float = 0.0) -> common_pb2.Link:
        """Dials one more link (e.g. ``tcp://10.0.2.2:7700``) to ``peer``; creates the session if there is none."""
        return self._unary(self.connections.DialLink, conn_pb.DialLinkRequest(
            peer=peer, address=address, priority=priority, weight=weight)).link

    def list_links(self, session_id: str = "") -> List[common_pb2.Link]:
        """Every link (of one session, when given), all pages."""
        links, token = [], ""
        while True:
            r = self._unary(self.connections.ListLinks, conn_pb.ListLinksRequest(
                session_id=session_id, page_size=1000, page_token=token))
            links.extend(r.links)
            token = r.next_page_token
            if not token:
                return links

    def remove_link(self, session_id: str, link_id: str) -> None:
        """Removes a link gracefully (its chunks in flight are delivered first)."""
        self._unary(self.connections.DeleteLink, conn_pb.DeleteLinkRequest(session_id=session_id, link_id=link_id))

    def list_sessions(self) -> List[common_pb2.Session]:
        """Every session, all pages."""
        sessions, token = [], ""
        while True:
            r = self._unary(self.connections.ListSessions, conn_pb.ListSessionsRequest(page_size=1000,
                                                                                        page_token=token))
            sessions.extend(r.sessions)
            token = r.next_page_token
            if not token:
                return sessions

    def _unary(self, method, request, timeout: Optional[float] = 60.0):
        try:
            return method(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as e:
            raise InvMuxError.from_rpc(e) from None
