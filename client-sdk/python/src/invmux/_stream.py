"""A byte stream through the sidecar: one OpenStream or AcceptStream call."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, Optional

import grpc

from ._errors import InvMuxError, StreamClosedError
from .v1 import stream_service_pb2 as pb

#: Largest data message a stream sends; longer writes are cut (the API takes at most 256 KiB).
MAX_WRITE_CHUNK = 64 * 1024
# Messages a writer may get ahead of gRPC's sending thread (which sends one at a time, each only once the previous
# one left): with MAX_WRITE_CHUNK, at most 256 KiB wait in this process.
_WRITE_QUEUE = 4
# How long close() lets a call whose both directions ended finish, so everything written reaches the sidecar.
_CLOSE_GRACE_S = 5.0

_END = object()  # end of the request stream (half-close)


class _Requests:
    """The request iterator gRPC's sending thread pulls from: the first message, then what ``write`` queues."""

    def __init__(self, first):
        self._first = first
        self._queue: "queue.Queue" = queue.Queue(maxsize=_WRITE_QUEUE)
        self.aborted = threading.Event()

    def __iter__(self):
        return self

    def __next__(self):
        if self._first is not None:
            first, self._first = self._first, None
            return first
        while True:
            if self.aborted.is_set():
                raise StopIteration
            try:
                item = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            if item is _END:
                raise StopIteration
            return item

    def put(self, item, done: Callable[[], bool]) -> None:
        """Queues a message; blocks while the queue is full (back-pressure), until the call ends."""
        while True:
            if self.aborted.is_set() or done():
                raise _CallEnded()
            try:
                self._queue.put(item, timeout=0.25)
                return
            except queue.Full:
                continue


class _CallEnded(Exception):
    pass


class Stream:
    """One byte stream to a peer's application, carried by the sidecars over their bundle of links.

    ``write(data)`` sends bytes (blocking while the peer does not keep up), ``read()`` returns the next chunk the
    peer sent (``b""`` at the end of stream), iterating yields the chunks, ``close_write()`` half-closes (the peer
    reads the end of stream; reading goes on) and ``close()`` releases the stream. Use it as a context manager:
    leaving the block normally closes it gracefully, leaving with an exception aborts it (the peer sees a reset).

    One thread may read while another writes.
    """

    def __init__(self, call, requests: _Requests, info: pb.StreamInfo, data_message: Callable[[bytes], object]):
        self._call = call
        self._requests = requests
        self._data_message = data_message
        self.info: pb.StreamInfo = info
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._eof = False
        self._call_done = False
        self._error: Optional[InvMuxError] = None
        self._write_closed = False
        self._closed = False

    # ---------------------------------------------------------------- reading

    def read(self) -> bytes:
        """Returns the next chunk of bytes from the peer, or ``b""`` once the peer half-closed.

        Raises :class:`InvMuxError` when the stream failed (UNAVAILABLE: peer or session lost; CANCELLED: reset
        by the peer). The sidecar is asked for one message at a time, as this is called.
        """
        with self._read_lock:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            try:
                msg = next(self._call)
            except StopIteration:
                self._eof = self._call_done = True
                return b""
            except grpc.RpcError as e:
                self._call_done = True
                self._error = StreamClosedError() if self._closed else InvMuxError.from_rpc(e)
                raise self._error from None
            data = msg.data
            if not data:  # the peer's end of stream; the call goes on until close_write()
                self._eof = True
            return data

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read()
            if not chunk:
                return
            yield chunk

    def read_all(self) -> bytes:
        """Reads until the peer half-closes."""
        return b"".join(self)

    # ---------------------------------------------------------------- writing

    def write(self, data: bytes) -> None:
        """Sends ``data`` to the peer (in messages of at most 64 KiB); blocks while the stream's window is full."""
        view = memoryview(data)
        with self._write_lock:
            if self._write_closed:
                raise InvMuxError(grpc.StatusCode.FAILED_PRECONDITION, "write after close_write()")
            for off in range(0, len(view), MAX_WRITE_CHUNK):
                try:
                    self._requests.put(self._data_message(bytes(view[off:off + MAX_WRITE_CHUNK])), self._call.done)
                except _CallEnded:
                    raise self._ended_error() from None

    def close_write(self) -> None:
        """Half-closes: the peer reads the end of stream after everything written before. Reading goes on."""
        with self._write_lock:
            if self._write_closed:
                return
            self._write_closed = True
            try:
                self._requests.put(_END, self._call.done)
            except _CallEnded:
                pass

    def _ended_error(self) -> InvMuxError:
        if self._closed:
            return StreamClosedError()
        if self._call.done() and self._call.code() not in (None, grpc.StatusCode.OK):
            return InvMuxError(self._call.code(), self._call.details() or "")
        return InvMuxError(grpc.StatusCode.FAILED_PRECONDITION, "the stream ended; read() tells why")

    # ---------------------------------------------------------------- closing

    def close(self) -> None:
        """Releases the stream. After ``close_write()`` and reading to the end it lets the call finish first (at
        most 5 s), so everything written reaches the sidecar; otherwise it aborts the stream (the peer sees a
        reset). Safe to call more than once."""
        if self._closed:
            return
        graceful = self._write_closed and self._eof and not self._call_done and self._error is None
        if graceful and self._read_lock.acquire(blocking=False):
            try:
                timer = threading.Timer(_CLOSE_GRACE_S, self._call.cancel)
                timer.daemon = True
                timer.start()
                try:
                    for _ in self._call:
                        pass
                except grpc.RpcError:
                    pass
                finally:
                    timer.cancel()
            finally:
                self._read_lock.release()
        self._closed = True
        self._requests.aborted.set()
        self._call.cancel()

    def abort(self) -> None:
        """Ends the stream at once in both directions; the peer sees a reset."""
        self._closed = True
        self._requests.aborted.set()
        self._call.cancel()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return (f"<invmux.Stream {self.info.stream_id} of session {self.info.session_id} peer={self.info.peer!r} "
                f"service={self.info.service!r}>")
