"""A stream is a file-like object: reads cut the peer's bytes as asked whatever chunks they came in, and io's
buffered and text wrappers work over it."""

import io
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

import invmux

TAIL = random.Random(3).randbytes(200_000)
MESSAGE = b"first line\nsecond\n" + TAIL


def test_reads_take_as_many_bytes_as_asked(sidecars, client_a, client_b):
    def acceptor():
        with client_b.accept_stream("py-file", timeout=30) as s:
            for off in range(0, len(MESSAGE), 7000):  # many writes: chunks of any size come to the reader
                s.write(memoryview(MESSAGE)[off:off + 7000])
            s.close_write()
            return s.read()  # the opener sends nothing: the end of stream at once

    with ThreadPoolExecutor(1) as pool:
        accepted = pool.submit(acceptor)
        with client_a.open_stream(sidecars.peer, "py-file", timeout=10) as s:
            assert s.readable() and s.writable() and not s.seekable() and not s.closed
            s.close_write()
            assert s.readline() == b"first line\n"
            assert s.readline(3) == b"sec"
            assert s.readexactly(4) == b"ond\n"
            first = s.read(10)
            assert 1 <= len(first) <= 10 and TAIL.startswith(first)
            buffer = bytearray(1000)
            n = s.readinto(buffer)
            assert 1 <= n <= 1000 and buffer[:n] == TAIL[len(first):len(first) + n]
            done = len(first) + n
            assert s.readexactly(50_000) == TAIL[done:done + 50_000]
            done += 50_000
            with pytest.raises(invmux.IncompleteReadError) as e:
                s.readexactly(len(TAIL) - done + 5)
            assert e.value.partial == TAIL[done:] and e.value.expected == len(TAIL) - done + 5
            assert isinstance(e.value, EOFError)
            assert s.read() == b"" and s.read(5) == b"" and s.readline() == b"" and s.readinto(buffer) == 0
            assert s.read_chunk() == b"" and list(s) == []
        assert s.closed
        assert accepted.result(30) == b""


def test_iterating_yields_chunks_and_readlines_lines(sidecars, client_a, client_b):
    def acceptor():
        with client_b.accept_stream("py-file-lines", timeout=30) as s:
            s.write(b"a\nbb\n")
            chunks = list(s)  # to the end of stream
            s.write(b"ccc\nno newline at the end")
            s.close_write()
            return chunks

    with ThreadPoolExecutor(1) as pool:
        accepted = pool.submit(acceptor)
        with client_a.open_stream(sidecars.peer, "py-file-lines", timeout=10) as s:
            assert s.readexactly(5) == b"a\nbb\n"
            assert s.write(bytearray(b"request")) == 7  # io's contract: the bytes written
            s.close_write()
            assert s.readlines() == [b"ccc\n", b"no newline at the end"]
        assert b"".join(accepted.result(30)) == b"request"


def test_text_over_buffered_wrappers(sidecars, client_a, client_b):
    lines = [f"{i} grüße, 世界 {'x' * (i % 97)}\n" for i in range(5000)]  # multi-byte characters cut by chunks

    def acceptor():  # answers each line as it comes, in upper case
        with client_b.accept_stream("py-file-text", timeout=30) as s:
            reader = io.TextIOWrapper(io.BufferedReader(s), encoding="utf-8", newline="")
            writer = io.TextIOWrapper(io.BufferedWriter(s, buffer_size=8192), encoding="utf-8", newline="")
            n = 0
            for line in reader:
                writer.write(line.upper())
                n += 1
            writer.flush()
            s.close_write()
            return n

    with ThreadPoolExecutor(2) as pool:
        accepted = pool.submit(acceptor)
        with client_a.open_stream(sidecars.peer, "py-file-text", timeout=10) as s:
            def send():
                out = io.TextIOWrapper(io.BufferedWriter(s), encoding="utf-8", newline="")
                out.writelines(lines)
                out.flush()
                s.close_write()
                out.detach().detach()  # the stream stays open for reading

            sending = pool.submit(send)
            with io.TextIOWrapper(io.BufferedReader(s, buffer_size=4096), encoding="utf-8", newline="") as text:
                answer = text.readlines()
            sending.result(30)
            assert s.closed  # closing the wrapper closed the stream
        assert accepted.result(30) == len(lines)
    assert answer == [line.upper() for line in lines]
