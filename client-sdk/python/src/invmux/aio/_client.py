"""The asyncio InvMux client, on ``grpc.aio``: streams, serving a service, and health of one sidecar."""

from __future__ import annotations

import asyncio
import collections.abc
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, Generator, Mapping, Optional, Set

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2_grpc

from .._client import READINESS, HealthWatch, ReadinessPoll, channel_options, first_info, open_request, resolve
from .._errors import InvMuxError, StreamClosedError
from .._retry import Backoff
from .._serve import ServeLog, check_serve_args, retry_or_raise
from .._stream import TrafficClass
from ..v1 import connection_service_pb2_grpc as conn_grpc
from ..v1 import monitor_service_pb2 as mon_pb
from ..v1 import monitor_service_pb2_grpc as mon_grpc
from ..v1 import stream_service_pb2 as stream_pb
from ..v1 import stream_service_pb2_grpc as stream_grpc
from ._stream import Stream, being_cancelled


async def _cancel_all(tasks) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Opening(collections.abc.Coroutine):
    """A stream being opened or accepted: ``await`` it for the :class:`Stream` (or hand it to
    ``asyncio.create_task``, ``wait_for``, ``gather``: it is a coroutine), or use it in ``async with`` (the stream
    is closed on leaving the block normally, aborted when the block raised)."""

    def __init__(self, coroutine: Coroutine[Any, Any, Stream]):
        self._coroutine = coroutine
        self._stream: Optional[Stream] = None

    def send(self, value):
        return self._coroutine.send(value)

    def throw(self, *args):
        return self._coroutine.throw(*args)

    def close(self) -> None:
        self._coroutine.close()

    def __await__(self) -> Generator[Any, None, Stream]:
        return self._coroutine.__await__()

    async def __aenter__(self) -> Stream:
        self._stream = await self._coroutine
        return self._stream

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self._stream.__aexit__(exc_type, exc, tb)


class Client:
    """An asyncio client of one InvMux sidecar, on ``grpc.aio``; create it in a coroutine (its channel belongs to
    the running event loop).

    ``endpoint`` and ``token`` as for :class:`invmux.Client` (default: $INVMUX_GRPC_ENDPOINT, else 127.0.0.1:7701,
    and $INVMUX_API_TOKEN). Use it as an async context manager, or ``await close()``. Failed calls raise the same
    :class:`InvMuxError` (``code``, ``reason``, ``field``, ...) as the blocking client. The raw ``grpc.aio`` stubs
    are ``streams``, ``connections`` and ``monitor``.
    """

    def __init__(self, endpoint: Optional[str] = None, token: Optional[str] = None, *,
                 options: Optional[list] = None):
        self.endpoint, self._metadata = resolve(endpoint, token)
        self._channel = grpc.aio.insecure_channel(self.endpoint, options=channel_options(options))
        self._closed = False
        self.streams = stream_grpc.StreamServiceStub(self._channel)
        self.connections = conn_grpc.ConnectionServiceStub(self._channel)
        self.monitor = mon_grpc.MonitorServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    # ---------------------------------------------------------------- lifecycle

    async def close(self) -> None:
        """Closes the connection; open streams fail (:class:`StreamClosedError`), ``serve`` raises that."""
        self._closed = True
        await self._channel.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def wait_for_sidecar(self, timeout: float = 30.0) -> None:
        """Polls the sidecar's readiness until it is SERVING, as :meth:`invmux.Client.wait_for_sidecar` does;
        :class:`TimeoutError` naming the endpoint and the last answer when ``timeout`` seconds pass first."""
        poll = ReadinessPoll(self.endpoint, timeout)
        while True:
            try:
                if poll.answered(await self._health.Check(READINESS, timeout=poll.check_timeout())):
                    return
            except grpc.RpcError as e:
                poll.failed(e)
            await asyncio.sleep(poll.pause())

    # ---------------------------------------------------------------- streams

    def open_stream(self, peer: str, service: str, metadata: Optional[Mapping[str, str]] = None,
                    timeout: Optional[float] = None, traffic_class: TrafficClass = TrafficClass.BULK) -> "Opening":
        """Opens a stream to ``service`` of ``peer``, as :meth:`invmux.Client.open_stream` does:
        ``stream = await client.open_stream(...)``, or ``async with client.open_stream(...) as stream``. Raises
        :class:`InvMuxError` (INVALID_ARGUMENT naming the field, NOT_FOUND with reason PEER_UNKNOWN, UNAVAILABLE),
        :class:`TimeoutError` when ``timeout`` seconds pass before the stream is open."""
        async def opening() -> Stream:
            call = self.streams.OpenStream(metadata=self._metadata)
            info = await self._first(call, open_request(peer, service, metadata, traffic_class), timeout,
                                     f"opening a stream to {peer}/{service}", "opened")
            return Stream(call, info, lambda b: stream_pb.OpenStreamRequest(data=b), lambda: self._closed)
        return Opening(opening())

    def accept_stream(self, service: str, timeout: Optional[float] = None) -> "Opening":
        """Waits for the next stream a peer opens to ``service`` (at most ``timeout`` seconds when given:
        :class:`TimeoutError`): ``await`` it, or ``async with`` it; several tasks may accept at once (or see
        :meth:`serve`)."""
        async def accepting() -> Stream:
            call = self.streams.AcceptStream(metadata=self._metadata)
            request = stream_pb.AcceptStreamRequest(accept=stream_pb.AcceptTarget(service=service))
            info = await self._first(call, request, timeout, f"accepting a stream for {service}", "accepted")
            return Stream(call, info, lambda b: stream_pb.AcceptStreamRequest(data=b), lambda: self._closed)
        return Opening(accepting())

    async def _first(self, call, request, timeout: Optional[float], what: str, frame: str) -> stream_pb.StreamInfo:
        """Sends the call's first message and returns the stream's info from the sidecar's first one."""
        async def exchange():
            try:
                await call.write(request)
            except asyncio.InvalidStateError:
                pass  # the call ended already: reading tells why
            return await call.read()

        try:
            msg = await (exchange() if timeout is None else asyncio.wait_for(exchange(), timeout))
            if msg is grpc.aio.EOF:
                raise InvMuxError(grpc.StatusCode.INTERNAL, f"{what}: the call ended before its first message")
            return first_info(msg, frame, what)
        except asyncio.TimeoutError:
            error: BaseException = TimeoutError(f"{what}: no answer within {timeout:g} s")
        except grpc.aio.AioRpcError as e:
            error = InvMuxError.from_rpc(e)
        except asyncio.CancelledError:
            call.cancel()
            if self._closed and not being_cancelled():  # grpc.aio reports the calls a closed channel cancelled so
                raise StreamClosedError("the client was closed") from None
            raise
        except BaseException:
            call.cancel()
            raise
        call.cancel()
        raise error

    # ---------------------------------------------------------------- serving

    async def serve(self, service: str, handler: Callable[[Stream], Awaitable[object]], concurrency: int = 16,
                    stop_event: Optional[asyncio.Event] = None) -> None:
        """Serves ``service`` until ``stop_event`` is set (or the task running this is cancelled): keeps
        ``concurrency`` AcceptStream calls waiting, each replaced as soon as it brings a stream, and runs
        ``await handler(stream)`` in a task of its own for each stream; the stream is then half-closed and closed
        (aborted, and the error logged, when the handler raised). Streams being handled are not counted by
        ``concurrency``.

        Once ``stop_event`` is set, the waiting calls are cancelled and ``serve`` returns when the handlers running
        have returned. Cancelling ``serve`` cancels the handlers too (their streams are aborted) and re-raises.
        Transient failures (UNAVAILABLE, ...) are tried again after 0.1 s doubling to 5 s; others
        (INVALID_ARGUMENT, UNAUTHENTICATED, ...) end ``serve`` with :class:`InvMuxError`, once the handlers
        running have returned; :class:`StreamClosedError` when the client is closed. No task of it is left behind.
        """
        check_serve_args(service, handler, concurrency)
        stop = stop_event if stop_event is not None else asyncio.Event()
        log = ServeLog(service)
        handlers: Set[asyncio.Task] = set()

        async def handle(stream: Stream) -> None:
            try:
                await handler(stream)
                await stream.close_write()
                await stream.close()
            except asyncio.CancelledError:
                stream.abort()
                raise
            except Exception as e:  # noqa: BLE001: a failed handler ends its stream, not the server
                stream.abort()
                log.handler_failed(stream, False, e)

        async def accept_loop() -> None:
            backoff = Backoff()
            while True:
                try:
                    stream = await self.accept_stream(service)
                except Exception as e:  # noqa: BLE001: each kind is sorted out by retry_or_raise
                    transient = retry_or_raise(e, stop.is_set(), self._closed)
                    if transient is None:
                        return
                    log.accept_failed(transient)
                    await asyncio.sleep(backoff.next(transient))
                    continue
                backoff.reset()
                log.accepted()
                task = asyncio.create_task(handle(stream),
                                           name=f"invmux-serve-{service}-stream-{stream.info.stream_id}")
                handlers.add(task)
                task.add_done_callback(handlers.discard)

        loops = {asyncio.create_task(accept_loop(), name=f"invmux-serve-{service}-accept-{i}")
                 for i in range(concurrency)}
        stopped = asyncio.create_task(stop.wait(), name=f"invmux-serve-{service}-stopper")
        try:
            await asyncio.wait(loops | {stopped}, return_when=asyncio.FIRST_COMPLETED)
            await _cancel_all(loops | {stopped})
            failure = next((t.exception() for t in loops if not t.cancelled() and t.exception()), None)
            while handlers:
                await asyncio.wait(set(handlers))
        except BaseException:  # cancelled: the handlers go too
            await _cancel_all(loops | {stopped} | handlers)
            raise
        if failure is not None:
            raise failure

    # ---------------------------------------------------------------- health

    async def watch_health(self, quality_interval: Optional[float] = None, session_id: str = "",
                           resubscribe: bool = True) -> AsyncIterator[mon_pb.WatchHealthResponse]:
        """Yields the sidecar's health events as :meth:`invmux.Client.watch_health` does (a snapshot first;
        resubscribing with backoff and resuming after the last event yielded; :class:`InvMuxError` when trying
        again would not help). ``async for event in client.watch_health()``; ``await events.aclose()`` (or
        leaving the loop) ends the call."""
        watch = HealthWatch(quality_interval, session_id, resubscribe)
        while watch.another_try():
            await asyncio.sleep(watch.delay)
            with watch.attempt(self.monitor.WatchHealth(watch.request, metadata=self._metadata,
                                                        wait_for_ready=True)) as call:
                async for event in call:
                    yield watch.seen(event)
