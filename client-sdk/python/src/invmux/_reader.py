"""How a stream's reads cut the peer's messages into what the caller asked for, written once for the blocking and
the asyncio stream: each read is a generator that yields when it needs the next message and is sent that message
(``b""`` at the end of stream); the stream drives it with its own (blocking or awaiting) receive."""

from __future__ import annotations

from typing import Generator, List

from ._errors import IncompleteReadError

#: A read: yields to ask for the next message, is sent it, returns the bytes read.
Read = Generator[None, bytes, bytes]


class ReadBuffer:
    """The part of the last message received that was not read yet."""

    def __init__(self) -> None:
        self._data = b""
        self._pos = 0

    def __len__(self) -> int:
        return len(self._data) - self._pos

    def _take(self, n: int, through_newline: bool = False) -> bytes:
        """Up to ``n`` buffered bytes (all when ``n`` < 0), ending after the first newline if asked."""
        end = len(self._data) if n < 0 else min(len(self._data), self._pos + n)
        if through_newline:
            newline = self._data.find(b"\n", self._pos, end)
            if newline >= 0:
                end = newline + 1
        out = self._data[self._pos:end]
        self._pos = end
        if self._pos == len(self._data):
            self._data, self._pos = b"", 0
        return out

    def _fill(self) -> Generator[None, bytes, bool]:
        """Receives the next message when nothing is buffered; false at the end of stream."""
        if not len(self):
            data = yield
            if not data:
                return False
            self._data, self._pos = bytes(data), 0
        return True

    def chunk(self, n: int = -1) -> Read:
        """At most ``n`` bytes (any number when ``n`` < 0): what is buffered, else (part of) the next message."""
        if n == 0 or not (yield from self._fill()):
            return b""
        return self._take(n)

    def exactly(self, n: int) -> Read:
        """Exactly ``n`` bytes; :class:`IncompleteReadError` when the stream ends first."""
        if n < 0:
            raise ValueError(f"readexactly needs a size of at least 0, got {n}")
        parts: List[bytes] = []
        got = 0
        while got < n:
            if not (yield from self._fill()):
                raise IncompleteReadError(b"".join(parts), n)
            parts.append(self._take(n - got))
            got += len(parts[-1])
        return b"".join(parts)

    def line(self, limit: int = -1) -> Read:
        """Up to and including the next ``b"\\n"``, or the end of stream, or ``limit`` bytes (when >= 0)."""
        parts: List[bytes] = []
        got = 0
        while limit < 0 or got < limit:
            if not (yield from self._fill()):
                break
            parts.append(self._take(limit - got if limit >= 0 else -1, through_newline=True))
            got += len(parts[-1])
            if parts[-1].endswith(b"\n"):
                break
        return b"".join(parts)

    def all(self) -> Read:
        """Everything up to the end of stream."""
        parts: List[bytes] = []
        while (yield from self._fill()):
            parts.append(self._take(-1))
        return b"".join(parts)


def size_of(n) -> int:
    """A read's size argument as io takes it: ``None`` or negative for "to the end", else an index."""
    if n is None:
        return -1
    try:
        return n.__index__()
    except AttributeError:
        raise TypeError(f"a read size must be an integer or None, not {type(n).__name__}") from None
