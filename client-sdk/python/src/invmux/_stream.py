"""A byte stream through the sidecar: one OpenStream or AcceptStream call."""

from __future__ import annotations

import enum
import io
import queue
import threading
from typing import Callable, Iterator, List, Optional

import grpc

from ._errors import InvMuxError, StreamClosedError
from ._reader import Read, ReadBuffer, size_of
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


class TrafficClass(enum.Enum):
    """How a stream's chunks are scheduled over the links of its session, chosen by its opener.

    ``BULK``: throughput first, chunks spread over all links. ``INTERACTIVE``: delay first, chunks sent ahead of
    bulk ones, each on the link expected to deliver it first. ``REDUNDANT``: as interactive, and each chunk sent a
    second time on the next-best link (twice the bytes; for small, latency-critical streams).
    """

    BULK = pb.TRAFFIC_CLASS_BULK
    INTERACTIVE = pb.TRAFFIC_CLASS_INTERACTIVE
    REDUNDANT = pb.TRAFFIC_CLASS_REDUNDANT


class StreamState:
    """What the blocking and the asyncio stream both keep of their call."""

    def _init_state(self, call, info: pb.StreamInfo, data_message: Callable[[bytes], object],
                    client_closed: Callable[[], bool]) -> None:
        self._call = call
        self._data_message = data_message
        self._client_closed = client_closed
        self.info: pb.StreamInfo = info
        self._buffer = ReadBuffer()
        self._eof = False
        self._call_done = False
        self._error: Optional[InvMuxError] = None
        self._write_closed = False
        self._closed = False

    @property
    def traffic_class(self) -> TrafficClass:
        """The stream's traffic class, as its opener chose it (``BULK`` when it did not say)."""
        v = self.info.traffic_class
        return TrafficClass.BULK if v == pb.TRAFFIC_CLASS_UNSPECIFIED else TrafficClass(v)

    def _closed_error(self) -> Optional[StreamClosedError]:
        """Why the call ended on this side, if it did: the stream's close() or abort(), or its client's close()."""
        if self._closed:
            return StreamClosedError()
        if self._client_closed():
            return StreamClosedError("the stream's client was closed")
        return None

    def _may_finish(self) -> bool:
        """Whether both directions ended well, so that close() lets the call finish instead of aborting it."""
        return self._write_closed and self._eof and not self._call_done and self._error is None

    def __repr__(self) -> str:
        info = self.info
        return (f"<{type(self).__module__.split('._')[0]}.{type(self).__name__} {info.stream_id} of session "
                f"{info.session_id} peer={info.peer!r} service={info.service!r}>")


class Stream(StreamState, io.RawIOBase):
    """One byte stream to a peer's application, carried by the sidecars over their bundle of links.

    A file-like, unbuffered binary stream (an :class:`io.RawIOBase`): ``write(data)`` sends bytes (blocking while the
    peer does not keep up); ``read(n)`` returns at most ``n`` bytes (``read()`` reads to the end of stream),
    ``readinto``, ``readexactly(n)``, ``readline()`` and ``read_chunk()`` (the next chunk as it came) read what the
    peer sent, ``b""`` meaning the end of stream; iterating yields the chunks. ``close_write()`` half-closes (the
    peer reads the end of stream; reading goes on) and ``close()`` releases the stream. Use it as a context manager:
    leaving the block normally closes it gracefully, leaving with an exception aborts it (the peer sees a reset).

    ``io.BufferedReader(stream)``, ``io.BufferedWriter(stream)`` and ``io.TextIOWrapper`` over those work as over a
    socket's file; closing or collecting such a wrapper closes the stream (``detach()`` it to keep the stream), so
    call ``close_write()`` after flushing a writer, before the stream is closed.

    One thread may read while another writes.
    """

    def __init__(self, call, requests: _Requests, info: pb.StreamInfo, data_message: Callable[[bytes], object],
                 client_closed: Callable[[], bool] = lambda: False):
        super().__init__()
        self._init_state(call, info, data_message, client_closed)
        self._requests = requests
        # reentrant: the reads are made of one another, and close() drains under it
        self._read_lock = threading.RLock()
        self._write_lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    # ---------------------------------------------------------------- reading

    def _receive(self) -> bytes:
        """The data of the sidecar's next message, ``b""`` at the end of stream; the caller holds the read lock."""
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
            self._error = self._closed_error() or InvMuxError.from_rpc(e)
            raise self._error from None
        data = msg.data
        if not data:  # the peer's end of stream; the call goes on until close_write()
            self._eof = True
        return data

    def _run(self, read: Read) -> bytes:
        """Drives one of the buffer's reads, receiving a message each time it asks for one."""
        with self._read_lock:
            try:
                next(read)
                while True:
                    read.send(self._receive())
            except StopIteration as done:
                return done.value

    def read_chunk(self) -> bytes:
        """Returns the next chunk of bytes from the peer as it came (what is left of it after smaller reads), or
        ``b""`` once the peer half-closed.

        Raises :class:`InvMuxError` when the stream failed (UNAVAILABLE: peer or session lost; CANCELLED: reset
        by the peer), :class:`StreamClosedError` after ``close()``. The sidecar is asked for one message at a time,
        as the stream is read.
        """
        return self._run(self._buffer.chunk())

    def read(self, n: Optional[int] = -1) -> bytes:
        """Returns at most ``n`` bytes: what is left of the last chunk, else of the next one (fewer than ``n`` does
        not mean the end of stream; ``b""`` does). ``read()`` (``n`` < 0 or None) reads to the end of stream."""
        n = size_of(n)
        return self.readall() if n < 0 else self._run(self._buffer.chunk(n))

    def readinto(self, buffer) -> int:
        """Reads at most ``len(buffer)`` bytes into ``buffer`` (a writable bytes-like object); returns how many,
        0 at the end of stream."""
        view = memoryview(buffer).cast("B")
        data = self._run(self._buffer.chunk(len(view)))
        view[:len(data)] = data
        return len(data)

    def readexactly(self, n: int) -> bytes:
        """Returns exactly ``n`` bytes; raises :class:`IncompleteReadError` (with the bytes read as ``partial``)
        when the peer ends the stream first."""
        return self._run(self._buffer.exactly(size_of(n)))

    def readline(self, size: Optional[int] = -1) -> bytes:
        """Returns the bytes up to and including the next ``b"\\n"`` (or to the end of stream, or ``size`` bytes
        when given)."""
        return self._run(self._buffer.line(size_of(size)))

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        """Reads lines to the end of stream (or until they hold ``hint`` bytes, when given)."""
        hint = size_of(hint)
        lines: List[bytes] = []
        total = 0
        while hint <= 0 or total < hint:
            line = self.readline()
            if not line:
                break
            lines.append(line)
            total += len(line)
        return lines

    def readall(self) -> bytes:
        """Reads until the peer half-closes."""
        return self._run(self._buffer.all())

    #: The same as :meth:`readall`.
    read_all = readall

    def __iter__(self) -> Iterator[bytes]:
        """Iterating yields the chunks (:meth:`read_chunk`), not lines: use :meth:`readline` for lines."""
        return self

    def __next__(self) -> bytes:
        chunk = self.read_chunk()
        if not chunk:
            raise StopIteration
        return chunk

    # ---------------------------------------------------------------- writing

    def write(self, data) -> int:
        """Sends ``data`` (any bytes-like object) to the peer, in messages of at most 64 KiB; blocks while the
        stream's window is full. Returns ``len(data)``: everything is sent, or an error raised."""
        view = memoryview(data).cast("B")
        with self._write_lock:
            if self._write_closed:
                raise InvMuxError(grpc.StatusCode.FAILED_PRECONDITION, "write after close_write()")
            for off in range(0, len(view), MAX_WRITE_CHUNK):
                try:
                    self._requests.put(self._data_message(bytes(view[off:off + MAX_WRITE_CHUNK])), self._call.done)
                except _CallEnded:
                    raise self._ended_error() from None
        return len(view)

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
        closed = self._closed_error()
        if closed is not None:
            return closed
        if self._call.done() and self._call.code() not in (None, grpc.StatusCode.OK):
            return InvMuxError.from_rpc(self._call)
        return InvMuxError(grpc.StatusCode.FAILED_PRECONDITION, "the stream ended; read() tells why")

    # ---------------------------------------------------------------- closing

    def close(self) -> None:
        """Releases the stream. After ``close_write()`` and reading to the end it lets the call finish first (at
        most 5 s), so everything written reaches the sidecar; otherwise it aborts the stream (the peer sees a
        reset). Safe to call more than once."""
        if self._closed:
            return
        if self._may_finish() and self._read_lock.acquire(blocking=False):
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
        self.abort()

    def abort(self) -> None:
        """Ends the stream at once in both directions; the peer sees a reset. Safe to call more than once."""
        self._closed = True
        self._requests.aborted.set()
        self._call.cancel()
        super().close()  # io's closed flag

    def __del__(self) -> None:
        # io closes what is collected; a stream nobody holds any more is aborted, never waited for
        if not getattr(self, "_closed", True):  # (not when __init__ failed)
            self.abort()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
