"""A byte stream through the sidecar for asyncio: one OpenStream or AcceptStream call of ``grpc.aio``."""

from __future__ import annotations

import asyncio
from typing import Callable, Optional

import grpc
import grpc.aio

from .._errors import InvMuxError
from .._reader import Read, size_of
from .._stream import _CLOSE_GRACE_S, MAX_WRITE_CHUNK, StreamState
from ..v1 import stream_service_pb2 as pb


def being_cancelled() -> bool:
    """Whether the running task was asked to stop (Python 3.11 tells; before, a local cancel is taken for ours)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling is not None and cancelling())


async def status_error(call) -> Optional[InvMuxError]:
    """The error a finished call ended with, None when it ended well."""
    code = await call.code()
    if code == grpc.StatusCode.OK:
        return None
    return InvMuxError.from_rpc(grpc.aio.AioRpcError(code, await call.initial_metadata(),
                                                     await call.trailing_metadata(), await call.details()))


class Stream(StreamState):
    """One byte stream to a peer's application, for asyncio.

    ``await write(data)`` sends bytes (waiting while the peer does not keep up: gRPC's flow control), ``await
    read(n)`` returns at most ``n`` bytes (``await read()`` reads to the end of stream), ``readexactly(n)``,
    ``readline()`` and ``read_chunk()`` (the next chunk as it came) read what the peer sent, ``b""`` meaning the end
    of stream; ``async for chunk in stream`` yields the chunks. ``await close_write()`` half-closes (the peer reads
    the end of stream; reading goes on) and ``await close()`` releases the stream. As an async context manager,
    leaving the block normally closes it gracefully, leaving with an exception aborts it (the peer sees a reset).

    One task may read while another writes. Cancelling a read or a write (a timeout around it, say) aborts the
    whole stream, as cancelling a ``grpc.aio`` call's read or write does.
    """

    def __init__(self, call, info: pb.StreamInfo, data_message: Callable[[bytes], object],
                 client_closed: Callable[[], bool]):
        self._init_state(call, info, data_message, client_closed)
        self._read_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()

    def _cancelled_here(self) -> Optional[InvMuxError]:
        """After a CancelledError from the call: the error to raise instead when this side ended the call (grpc.aio
        reports a locally cancelled call so), None when the task itself is being cancelled."""
        closed = self._closed_error()
        return None if closed is None or being_cancelled() else closed

    # ---------------------------------------------------------------- reading

    async def _receive(self) -> bytes:
        """The data of the sidecar's next message, ``b""`` at the end of stream; the caller holds the read lock."""
        if self._error is not None:
            raise self._error
        if self._eof:
            return b""
        try:
            msg = await self._call.read()
        except grpc.aio.AioRpcError as e:
            self._call_done = True
            self._error = self._closed_error() or InvMuxError.from_rpc(e)
            raise self._error from None
        except asyncio.CancelledError:
            instead = self._cancelled_here()
            if instead is None:
                raise
            self._call_done, self._error = True, instead
            raise instead from None
        if msg is grpc.aio.EOF:
            self._eof = self._call_done = True
            return b""
        data = msg.data
        if not data:  # the peer's end of stream; the call goes on until close_write()
            self._eof = True
        return data

    async def _run(self, read: Read) -> bytes:
        """Drives one of the buffer's reads, receiving a message each time it asks for one."""
        async with self._read_lock:
            try:
                next(read)
                while True:
                    read.send(await self._receive())
            except StopIteration as done:
                return done.value

    async def read_chunk(self) -> bytes:
        """Returns the next chunk of bytes from the peer as it came (what is left of it after smaller reads), or
        ``b""`` once the peer half-closed. Raises :class:`InvMuxError` when the stream failed (UNAVAILABLE: peer or
        session lost; CANCELLED: reset by the peer), :class:`StreamClosedError` after ``close()``."""
        return await self._run(self._buffer.chunk())

    async def read(self, n: Optional[int] = -1) -> bytes:
        """Returns at most ``n`` bytes: what is left of the last chunk, else of the next one (fewer than ``n`` does
        not mean the end of stream; ``b""`` does). ``read()`` (``n`` < 0 or None) reads to the end of stream."""
        n = size_of(n)
        return await self._run(self._buffer.all() if n < 0 else self._buffer.chunk(n))

    async def readexactly(self, n: int) -> bytes:
        """Returns exactly ``n`` bytes; raises :class:`IncompleteReadError` (with the bytes read as ``partial``)
        when the peer ends the stream first."""
        return await self._run(self._buffer.exactly(size_of(n)))

    async def readline(self, size: Optional[int] = -1) -> bytes:
        """Returns the bytes up to and including the next ``b"\\n"`` (or to the end of stream, or ``size`` bytes
        when given)."""
        return await self._run(self._buffer.line(size_of(size)))

    def __aiter__(self) -> "Stream":
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read_chunk()
        if not chunk:
            raise StopAsyncIteration
        return chunk

    # ---------------------------------------------------------------- writing

    async def write(self, data) -> None:
        """Sends ``data`` (any bytes-like object) to the peer, in messages of at most 64 KiB, each once gRPC's flow
        control lets it go."""
        view = memoryview(data).cast("B")
        async with self._write_lock:
            if self._write_closed:
                raise InvMuxError(grpc.StatusCode.FAILED_PRECONDITION, "write after close_write()")
            for off in range(0, len(view), MAX_WRITE_CHUNK):
                try:
                    await self._call.write(self._data_message(bytes(view[off:off + MAX_WRITE_CHUNK])))
                except grpc.aio.AioRpcError as e:
                    raise self._closed_error() or InvMuxError.from_rpc(e) from None
                except asyncio.InvalidStateError:  # the call ended
                    raise await self._ended_error() from None
                except asyncio.CancelledError:
                    instead = self._cancelled_here()
                    if instead is None:
                        raise
                    raise instead from None

    async def close_write(self) -> None:
        """Half-closes: the peer reads the end of stream after everything written before. Reading goes on."""
        async with self._write_lock:
            if self._write_closed:
                return
            self._write_closed = True
            try:
                await self._call.done_writing()
            except asyncio.CancelledError:
                if self._cancelled_here() is None:
                    raise
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                pass  # the call ended: reading tells why

    async def _ended_error(self) -> InvMuxError:
        closed = self._closed_error()
        if closed is not None:
            return closed
        failed = await status_error(self._call)
        if failed is not None:
            return failed
        return InvMuxError(grpc.StatusCode.FAILED_PRECONDITION, "the stream ended; read() tells why")

    # ---------------------------------------------------------------- closing

    async def close(self) -> None:
        """Releases the stream. After ``close_write()`` and reading to the end it lets the call finish first (at
        most 5 s), so everything written reaches the sidecar; otherwise it aborts the stream (the peer sees a
        reset). Safe to call more than once."""
        if self._closed:
            return
        try:
            if self._may_finish():
                await asyncio.wait_for(self._call.code(), _CLOSE_GRACE_S)
        except (asyncio.TimeoutError, grpc.RpcError):
            pass  # aborted below
        finally:
            self.abort()

    def abort(self) -> None:
        """Ends the stream at once in both directions; the peer sees a reset. Safe to call more than once."""
        self._closed = True
        self._call.cancel()

    async def __aenter__(self) -> "Stream":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            await self.close()
        else:
            self.abort()
