"""The InvMux client: streams, links and sessions, and health of one sidecar."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Callable, Iterator, List, Mapping, Optional, Tuple

import grpc
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ._errors import InvMuxError
from ._retry import RETRYABLE, Backoff
from ._serve import Server
from ._stream import TrafficClass, Stream, _Requests
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

# A local sidecar that restarts should be found again quickly. Not grpc.min_reconnect_backoff_ms: gRPC takes it as
# the time a connection attempt gets too (default 20 s), and a sidecar busy for 100 ms would be unreachable.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


def resolve(endpoint: Optional[str], token: Optional[str]) -> Tuple[str, tuple]:
    """The endpoint and the call metadata of a client, from the arguments or else the environment."""
    endpoint = endpoint or os.environ.get(ENV_ENDPOINT) or DEFAULT_ENDPOINT
    token = os.environ.get(ENV_TOKEN) if token is None else token
    return endpoint, (("authorization", f"Bearer {token}"),) if token else ()


def channel_options(options: Optional[list]) -> list:
    return list(_CHANNEL_OPTIONS) + list(options or [])


def open_request(peer: str, service: str, metadata: Optional[Mapping[str, str]],
                 traffic_class: TrafficClass) -> stream_pb.OpenStreamRequest:
    return stream_pb.OpenStreamRequest(open=stream_pb.StreamTarget(
        peer=peer, service=service, metadata=dict(metadata or {}), traffic_class=TrafficClass(traffic_class).value))

READINESS = health_pb2.HealthCheckRequest(service="readiness")


class ReadinessPoll:
    """The state of a wait for the sidecar's readiness: the time left, the last answer, the pause between checks."""

    def __init__(self, endpoint: str, timeout: float):
        self._endpoint, self._timeout = endpoint, timeout
        self._deadline = time.monotonic() + timeout
        self._delay, self._last = 0.05, "no answer yet"

    def check_timeout(self) -> float:
        """The timeout of the next check; raises :class:`TimeoutError` naming the endpoint when time is up."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"InvMux sidecar at {self._endpoint} not ready within {self._timeout:g} s (last answer: "
                f"{self._last}); is the sidecar running, and is {ENV_ENDPOINT} right?")
        return min(1.0, remaining)

    def answered(self, response: health_pb2.HealthCheckResponse) -> bool:
        """Whether the sidecar is ready."""
        if response.status == health_pb2.HealthCheckResponse.SERVING:
            return True
        self._last = "readiness " + health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return False

    def failed(self, error: grpc.RpcError) -> None:
        self._last = f"{error.code().name}: {error.details()}"

    def pause(self) -> float:
        """Seconds to wait before the next check."""
        pause = max(0.0, min(self._delay, self._deadline - time.monotonic()))
        self._delay = min(self._delay * 2, 0.5)
        return pause


def first_info(msg, frame: str, what: str) -> stream_pb.StreamInfo:
    """The stream's info from the sidecar's first message of a stream call (``frame``: opened or accepted)."""
    if msg.WhichOneof("frame") != frame:
        raise InvMuxError(grpc.StatusCode.INTERNAL, f"{what}: the sidecar's first message was not {frame!r}: {msg}")
    return getattr(msg, frame)


class HealthWatch:
    """The state of a health watch that resubscribes: its request, resuming after the last event seen, and when to
    try again. The blocking and the asyncio watch loop over it:

        while watch.another_try():      # sleep watch.delay seconds first
            with watch.attempt(call) as call:
                for event in call:
                    yield watch.seen(event)
    """

    def __init__(self, quality_interval: Optional[float], session_id: str, resubscribe: bool):
        self.request = mon_pb.WatchHealthRequest(session_id=session_id)
        if quality_interval:
            self.request.quality_interval.CopyFrom(duration_pb2.Duration(
                seconds=int(quality_interval), nanos=int(round(quality_interval % 1 * 1e9))))
        self._resubscribe = resubscribe
        self._backoff = Backoff()
        self._tries = 0
        self._error: Optional[grpc.RpcError] = None
        #: Seconds to wait before the try another_try() allowed.
        self.delay = 0.0

    def another_try(self) -> bool:
        """Whether to open the watch (again): the first time, and after a break when resubscribing; raises
        :class:`InvMuxError` when trying again would not help."""
        self._tries += 1
        if self._tries == 1:
            return True
        failure = None if self._error is None else InvMuxError.from_rpc(self._error)
        if failure is not None and (not self._resubscribe or failure.code not in RETRYABLE):
            raise failure
        self.delay = self._backoff.next(failure)
        return self._resubscribe

    @contextlib.contextmanager
    def attempt(self, call):
        """Around one call: keeps what broke it for :meth:`another_try`, and always ends it."""
        self._error = None
        try:
            yield call
        except grpc.RpcError as e:
            self._error = e
        finally:
            call.cancel()

    def seen(self, event: mon_pb.WatchHealthResponse) -> mon_pb.WatchHealthResponse:
        self._backoff.reset()  # the sidecar answers again
        if event.sequence or event.WhichOneof("event") == "snapshot":  # samples are not numbered
            self.request.resume_epoch, self.request.resume_after_sequence = event.epoch, event.sequence
        return event


class Client:
    """A client of one InvMux sidecar.

    ``endpoint`` is ``host:port`` or ``unix:///path`` (default: $INVMUX_GRPC_ENDPOINT, else 127.0.0.1:7701);
    ``token`` the API token (default: $INVMUX_API_TOKEN), sent as ``authorization: Bearer <token>``.
    Use it as a context manager, or call :meth:`close`. Thread-safe.
    """

    def __init__(self, endpoint: Optional[str] = None, token: Optional[str] = None, *,
                 options: Optional[list] = None):
        self.endpoint, self._metadata = resolve(endpoint, token)
        self._channel = grpc.insecure_channel(self.endpoint, options=channel_options(options))
        self._closed = False
        self.streams = stream_grpc.StreamServiceStub(self._channel)
        self.connections = conn_grpc.ConnectionServiceStub(self._channel)
        self.monitor = mon_grpc.MonitorServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Closes the connection; open streams fail (:class:`StreamClosedError`), servers stop."""
        self._closed = True
        self._channel.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_for_sidecar(self, timeout: float = 30.0) -> None:
        """Polls the sidecar's gRPC health service ("readiness") until it is SERVING: its listeners are bound and
        every configured peer has a session. Raises :class:`TimeoutError` naming the endpoint and the last answer
        when ``timeout`` seconds pass first."""
        poll = ReadinessPoll(self.endpoint, timeout)
        while True:
            try:
                if poll.answered(self._health.Check(READINESS, timeout=poll.check_timeout())):
                    return
            except grpc.RpcError as e:
                poll.failed(e)
            time.sleep(poll.pause())

    # ---------------------------------------------------------------- streams

    def open_stream(self, peer: str, service: str, metadata: Optional[Mapping[str, str]] = None,
                    timeout: Optional[float] = None, traffic_class: TrafficClass = TrafficClass.BULK) -> Stream:
        """Opens a stream to ``service`` of ``peer`` (a configured peer name or a session id), with optional
        metadata the accepting application sees. ``timeout`` bounds the opening only. ``traffic_class`` says how
        its chunks are scheduled over the links, both ways (see :class:`TrafficClass`); the acceptor's
        :attr:`Stream.traffic_class` says the same.

        Raises :class:`InvMuxError`: INVALID_ARGUMENT (naming the field), NOT_FOUND (unknown peer), UNAVAILABLE.
        """
        requests = _Requests(open_request(peer, service, metadata, traffic_class))
        call = self.streams.OpenStream(requests, metadata=self._metadata)
        info = self._first(call, requests, timeout, f"opening a stream to {peer}/{service}", "opened")
        return Stream(call, requests, info, lambda b: stream_pb.OpenStreamRequest(data=b), lambda: self._closed)

    def accept_stream(self, service: str, timeout: Optional[float] = None) -> Stream:
        """Waits for the next stream a peer opens to ``service`` and returns it. ``timeout`` bounds the waiting
        (default: wait as long as it takes). Start it before the peer opens, or within the sidecar's pending
        timeout (10 s by default); several threads may accept at once (or see :meth:`serve`)."""
        call, requests = self._start_accept(service)
        return self._accepted(call, requests, service, timeout)

    def serve(self, service: str, handler: Callable[[Stream], object], concurrency: int = 16,
              stop_event: Optional[threading.Event] = None) -> Server:
        """Serves ``service``: keeps ``concurrency`` AcceptStream calls waiting, each replaced as soon as it brings
        a stream, and runs ``handler(stream)`` on a thread of its own for each stream; the stream is closed after
        it (aborted, and the error logged, when the handler raised). Returns the running :class:`Server`:
        ``server.stop()`` (or setting ``stop_event``, which ``stop()`` sets too) stops accepting, ``server.wait()``
        waits for the handlers and raises what stopped the server, if anything did. Transient failures
        (UNAVAILABLE, ...) are tried again with backoff; others (INVALID_ARGUMENT, UNAUTHENTICATED, ...) stop it.

            with client.serve("echo", handler, concurrency=4) as server:
                ...                      # leaving the block stops the server and waits for its handlers
        """
        return Server(self, service, handler, concurrency, stop_event)

    def _start_accept(self, service: str):
        requests = _Requests(stream_pb.AcceptStreamRequest(accept=stream_pb.AcceptTarget(service=service)))
        return self.streams.AcceptStream(requests, metadata=self._metadata), requests

    def _accepted(self, call, requests: _Requests, service: str, timeout: Optional[float]) -> Stream:
        info = self._first(call, requests, timeout, f"accepting a stream for {service}", "accepted")
        return Stream(call, requests, info, lambda b: stream_pb.AcceptStreamRequest(data=b), lambda: self._closed)

    @staticmethod
    def _first(call, requests: _Requests, timeout: Optional[float], what: str, frame: str) -> stream_pb.StreamInfo:
        """The stream's info from the sidecar's first message (``frame``: opened or accepted)."""
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
            msg = next(call)
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
        try:
            return first_info(msg, frame, what)
        except InvMuxError:
            requests.aborted.set()
            call.cancel()
            raise

    # ---------------------------------------------------------------- health

    def watch_health(self, quality_interval: Optional[float] = None, session_id: str = "",
                     resubscribe: bool = True) -> Iterator[mon_pb.WatchHealthResponse]:
        """Yields the sidecar's health events: first a ``snapshot`` of every session and link, then ``link_up``,
        ``link_down``, ``state_change``, ``quality`` (every ``quality_interval`` seconds, at least 0.1, when
        given) and ``session`` events as they happen (``event.WhichOneof("event")`` tells which).

        When the watch breaks (the sidecar restarts, or this watcher fell too far behind) it is opened again with
        backoff (0.1 s doubling to 5 s), unless ``resubscribe`` is false, and resumes after the last event yielded
        (its ``epoch`` and ``sequence``): the sidecar replays the events missed, or starts with a ``snapshot`` whose
        ``resync_reason`` says why it cannot (the events expired, or the sidecar restarted); while the sidecar is
        unreachable the watch waits for it.
        Errors that another try would not cure (INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND...) raise
        :class:`InvMuxError`. Events are received only as fast as they are consumed; closing the generator
        (``break``, ``close()``) ends the call."""
        watch = HealthWatch(quality_interval, session_id, resubscribe)
        while watch.another_try():
            time.sleep(watch.delay)
            # wait-for-ready: a watch opened while the sidecar is down (or restarting) starts once it is back
            with watch.attempt(self.monitor.WatchHealth(watch.request, metadata=self._metadata,
                                                        wait_for_ready=True)) as call:
                for event in call:
                    yield watch.seen(event)

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
