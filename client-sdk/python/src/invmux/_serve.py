"""Serving a service: AcceptStream calls kept outstanding, a handler run on each stream they bring."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, List, Optional, Set

from ._errors import InvMuxError, StreamClosedError
from ._retry import RETRYABLE, Backoff
from ._stream import Stream

if TYPE_CHECKING:
    from ._client import Client

log = logging.getLogger("invmux")


def check_serve_args(service, handler, concurrency) -> None:
    """Bad arguments fail at once, not in the serve loops."""
    if not isinstance(service, str):
        raise TypeError(f"service must be a str, not {type(service).__name__}")
    if not callable(handler):
        raise TypeError(f"handler must be callable, not {type(handler).__name__}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int of at least 1, got {concurrency!r}")


def retry_or_raise(error: BaseException, stopping: bool, client_closed: bool) -> Optional[InvMuxError]:
    """What a serve loop does after a failed accept: None to end quietly (the server is stopping); the error to
    try again after when it is transient; raises the error that ends the server otherwise."""
    if stopping:
        return None
    if client_closed:
        raise StreamClosedError("the client was closed while serving")
    if isinstance(error, InvMuxError) and error.code in RETRYABLE:
        return error
    raise error


class ServeLog:
    """What a server logs: the first failed accept of an outage (the tries go on quietly), and failed handlers."""

    def __init__(self, service: str):
        self.service = service
        self._failing = False  # an accept failed and none succeeded since

    def accept_failed(self, error: InvMuxError) -> None:
        if not self._failing:
            self._failing = True
            log.warning("accepting streams for service %r failed (%s); trying again with backoff", self.service, error)

    def accepted(self) -> None:
        self._failing = False

    def handler_failed(self, stream, aborting: bool, error: BaseException) -> None:
        if aborting and isinstance(error, StreamClosedError):  # stop(abort_streams=True) did that
            log.debug("the handler of %r ended as its stream was aborted", stream)
        else:
            log.error("the handler of service %r failed on %r; the stream was aborted", self.service, stream,
                      exc_info=error)


class Server:
    """Streams of one service being accepted and handled: what :meth:`Client.serve` returns, already running.

    ``concurrency`` AcceptStream calls wait for streams at all times (each accepted one is replaced at once); each
    stream gets a thread that runs ``handler(stream)``, then half-closes and closes the stream (so it ends
    gracefully when the handler read to the end of stream), or aborts it and logs the error when the handler
    raised. Streams being handled are not counted by ``concurrency``: the sidecar's ``api.maxStreamsPerClient``
    bounds them.

    A failed accept that another try can cure (UNAVAILABLE: the sidecar is restarting, RESOURCE_EXHAUSTED, ...) is
    tried again after 0.1 s doubling to 5 s (or the sidecar's retry delay); any other (INVALID_ARGUMENT,
    UNAUTHENTICATED, ...) stops the server and is raised by :meth:`wait`.

    :meth:`stop` (or setting the ``stop_event`` given to ``serve``) stops accepting; :meth:`wait` returns once every
    thread of the server ended. As a context manager it stops and waits on leaving the block (aborting the streams
    still handled when the block raised).
    """

    def __init__(self, client: "Client", service: str, handler: Callable[[Stream], object], concurrency: int,
                 stop_event: Optional[threading.Event]):
        check_serve_args(service, handler, concurrency)
        self.service = service
        self.concurrency = concurrency
        self._client = client
        self._handler = handler
        self._stop = stop_event if stop_event is not None else threading.Event()
        self._log = ServeLog(service)
        self._lock = threading.Lock()
        self._waiting: Set[object] = set()  # accept calls with no stream yet, cancelled on stop
        self._streams: Set[Stream] = set()  # streams being handled
        self._handler_threads: Set[threading.Thread] = set()
        self._aborting = False
        self._error: Optional[BaseException] = None
        self._threads: List[threading.Thread] = [
            threading.Thread(target=self._accept_loop, name=f"invmux-serve-{service}-accept-{i}", daemon=True)
            for i in range(concurrency)]
        self._threads.append(threading.Thread(target=self._cancel_waiting_calls_on_stop,
                                              name=f"invmux-serve-{service}-stopper", daemon=True))
        for t in self._threads:
            t.start()

    # ---------------------------------------------------------------- control

    def stop(self, abort_streams: bool = False) -> None:
        """Stops accepting: the waiting AcceptStream calls are cancelled (a stream the sidecar hands over meanwhile
        is aborted). The streams being handled go on until their handlers return, unless ``abort_streams``: then
        they are aborted (the handlers' reads and writes raise :class:`StreamClosedError`). Returns at once; see
        :meth:`wait`."""
        self._stop.set()
        if abort_streams:
            with self._lock:
                self._aborting = True
                streams = list(self._streams)
            for stream in streams:
                stream.abort()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the server stopped and every one of its threads (accepts and handlers) ended, at most
        ``timeout`` seconds when given; returns whether it did. Raises the error that stopped the server, if one
        did (:class:`InvMuxError`, or :class:`StreamClosedError` when the client was closed)."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def joined(t: threading.Thread) -> bool:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            return not t.is_alive()

        if not all(joined(t) for t in self._threads):
            return False
        while True:  # the accept loops ended: no handler starts any more
            with self._lock:
                handlers = list(self._handler_threads)
            if not handlers:
                break
            if not all(joined(t) for t in handlers):
                return False
        if self._error is not None:
            raise self._error
        return True

    def close(self, timeout: Optional[float] = None) -> bool:
        """:meth:`stop`, then :meth:`wait`."""
        self.stop()
        return self.wait(timeout)

    @property
    def running(self) -> bool:
        """Whether a thread of the server is still running (it may be stopping)."""
        with self._lock:
            handlers = bool(self._handler_threads)
        return handlers or any(t.is_alive() for t in self._threads)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(abort_streams=exc_type is not None)
        self.wait()

    def __repr__(self) -> str:
        return f"<invmux.Server service={self.service!r} concurrency={self.concurrency} running={self.running}>"

    # ---------------------------------------------------------------- threads

    def _accept_loop(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                stream = self._accept()
            except Exception as e:  # noqa: BLE001: each kind is sorted out below
                try:
                    transient = retry_or_raise(e, self._stop.is_set(), self._client.closed)
                except Exception as fatal:
                    self._fail(fatal)
                    return
                if transient is None:
                    return
                self._log.accept_failed(transient)
                self._stop.wait(backoff.next(transient))
                continue
            if stream is not None:
                backoff.reset()
                self._log.accepted()
                self._start_handler(stream)

    def _accept(self) -> Optional[Stream]:
        """One AcceptStream call, cancelled by stop() while it waits; None when stopped first."""
        call, requests = self._client._start_accept(self.service)
        with self._lock:
            stopping = self._stop.is_set()
            if not stopping:
                self._waiting.add(call)
        if stopping:  # stop() came after the check of the loop: the stopper may have cancelled the others already
            requests.aborted.set()
            call.cancel()
            return None
        try:
            return self._client._accepted(call, requests, self.service, None)
        finally:
            with self._lock:
                self._waiting.discard(call)

    def _start_handler(self, stream: Stream) -> None:
        with self._lock:
            stopping = self._stop.is_set()
            if not stopping:
                thread = threading.Thread(target=self._handle, args=(stream,), daemon=True,
                                          name=f"invmux-serve-{self.service}-stream-{stream.info.stream_id}")
                self._streams.add(stream)
                self._handler_threads.add(thread)
        if stopping:  # the sidecar handed a stream over as the server stopped: the opener sees a reset
            stream.abort()
            return
        thread.start()

    def _handle(self, stream: Stream) -> None:
        try:
            self._handler(stream)
        except Exception as e:  # noqa: BLE001: a failed handler ends its stream, not the server
            stream.abort()
            self._log.handler_failed(stream, self._aborting, e)
        else:
            try:
                stream.close_write()
                stream.close()
            except Exception as e:  # noqa: BLE001
                stream.abort()
                self._log.handler_failed(stream, self._aborting, e)
        finally:
            with self._lock:
                self._streams.discard(stream)
                self._handler_threads.discard(threading.current_thread())

    def _cancel_waiting_calls_on_stop(self) -> None:
        self._stop.wait()
        with self._lock:
            waiting = list(self._waiting)
        for call in waiting:
            call.cancel()

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = error
        self._stop.set()
