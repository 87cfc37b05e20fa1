"""The asyncio client (invmux.aio) against the two real sidecars: echoes, serve, errors by reason, clean stops."""

import asyncio
import hashlib
import random

import grpc
import pytest

import invmux
from invmux import aio
from support import PausableProxy, assert_tried_again, aio_echo_through, assert_no_task_left

SIZE = 16 * 1024 * 1024


def run(coroutine):
    """Runs a test's coroutine on a loop of its own, bounded so that a hang fails instead of waiting forever."""
    return asyncio.run(asyncio.wait_for(coroutine, 120))


async def ready(*clients):
    """Waits until each client's sidecar is ready, as the blocking fixtures do."""
    await asyncio.gather(*(c.wait_for_sidecar(timeout=30) for c in clients))


async def _echo(stream):
    async for chunk in stream:
        await stream.write(chunk)


def test_aio_echo_of_16_mib(sidecars):
    async def main():
        async with aio.Client(sidecars.a) as a, aio.Client(sidecars.b) as b:
            await ready(a, b)
            async def acceptor():
                async with b.accept_stream("py-aio-echo", timeout=30) as s:
                    h, n = hashlib.sha256(), 0
                    async for chunk in s:
                        h.update(chunk)
                        n += len(chunk)
                        await s.write(chunk)
                    await s.close_write()
                    return n, h.hexdigest(), s.info

            accepting = asyncio.create_task(acceptor())
            async with a.open_stream(sidecars.peer, "py-aio-echo", {"lang": "python-aio"}, timeout=10) as s:
                assert s.info.service == "py-aio-echo" and s.traffic_class == invmux.TrafficClass.BULK
                sent = hashlib.sha256()

                async def writer():
                    rnd = random.Random(42)
                    for _ in range(SIZE >> 20):
                        block = rnd.randbytes(1 << 20)
                        sent.update(block)
                        await s.write(block)
                    await s.close_write()

                writing = asyncio.create_task(writer())
                echo, n = hashlib.sha256(), 0
                async for chunk in s:
                    echo.update(chunk)
                    n += len(chunk)
                await writing
            accepted_n, accepted_sha, info = await accepting
        assert n == accepted_n == SIZE
        assert echo.hexdigest() == sent.hexdigest() == accepted_sha
        assert info.peer == "pod-a" and info.metadata["lang"] == "python-aio"

    run(main())


def test_aio_reads_take_as_many_bytes_as_asked(sidecars):
    tail = random.Random(5).randbytes(100_000)

    async def main():
        async with aio.Client(sidecars.a) as a, aio.Client(sidecars.b) as b:
            await ready(a, b)
            async def acceptor():
                async with b.accept_stream("py-aio-reads", timeout=30) as s:
                    await s.write(b"line one\nline two\n" + tail)
                    await s.close_write()
                    return await s.read()

            accepting = asyncio.create_task(acceptor())
            async with a.open_stream(sidecars.peer, "py-aio-reads", timeout=10) as s:
                await s.close_write()
                with pytest.raises(invmux.InvMuxError) as e:
                    await s.write(b"late")
                assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
                assert await s.readline() == b"line one\n"
                assert await s.readexactly(9) == b"line two\n"
                part = await s.read(10)
                assert 1 <= len(part) <= 10 and tail.startswith(part)
                with pytest.raises(aio.IncompleteReadError) as e:
                    await s.readexactly(len(tail) - len(part) + 1)
                assert e.value.partial == tail[len(part):]
                assert await s.read() == b"" and await s.read_chunk() == b""
            assert await accepting == b""

    run(main())


def test_aio_serve_handles_more_streams_at_once_than_it_keeps_accepting(sidecars):
    payloads = {str(i): random.Random(i).randbytes(1 << 20) for i in range(8)}

    async def main():
        async with aio.Client(sidecars.a) as a, aio.Client(sidecars.b) as b:
            await ready(a, b)
            before = asyncio.all_tasks()
            all_in, arrived, seen = asyncio.Event(), [], {}

            async def echo_hashing(stream):
                arrived.append(stream)
                if len(arrived) == len(payloads):
                    all_in.set()
                await asyncio.wait_for(all_in.wait(), 30)  # the 8 at once: concurrency 4 must not bound them
                h = hashlib.sha256()
                async for chunk in stream:
                    h.update(chunk)
                    await stream.write(chunk)
                seen[stream.info.metadata["n"]] = h.hexdigest()

            stop = asyncio.Event()
            serving = asyncio.create_task(b.serve("py-aio-serve", echo_hashing, concurrency=4, stop_event=stop))
            echoes = await asyncio.gather(*(aio_echo_through(a, sidecars.peer, "py-aio-serve", payloads[n], {"n": n})
                                            for n in payloads))
            assert not serving.done()
            stop.set()
            await asyncio.wait_for(serving, 30)
            await assert_no_task_left(before)
        for n, echo in zip(payloads, echoes):
            assert hashlib.sha256(echo).hexdigest() == hashlib.sha256(payloads[n]).hexdigest() == seen[n]

    run(main())


def test_aio_cancelled_serve_ends_its_handlers_and_leaves_no_task(sidecars):
    async def main():
        async with aio.Client(sidecars.a) as a, aio.Client(sidecars.b) as b:
            await ready(a, b)
            before = asyncio.all_tasks()
            started, handler_cancelled = asyncio.Event(), asyncio.Event()

            async def stuck(stream):
                started.set()
                try:
                    await stream.read()  # the opener never half-closes
                except asyncio.CancelledError:
                    handler_cancelled.set()
                    raise

            serving = asyncio.create_task(b.serve("py-aio-stuck", stuck, concurrency=3))
            async with a.open_stream(sidecars.peer, "py-aio-stuck", timeout=10) as s:
                await asyncio.wait_for(started.wait(), 30)
                serving.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await serving
                assert handler_cancelled.is_set()
                with pytest.raises(invmux.InvMuxError) as e:
                    await s.read()  # the opener sees the reset
                assert not isinstance(e.value, invmux.StreamClosedError)
            await assert_no_task_left(before)

    run(main())


def test_aio_errors_carry_the_sidecars_reason(sidecars):
    async def main():
        async with aio.Client(sidecars.a) as a:
            await ready(a)
            with pytest.raises(invmux.InvMuxError) as e:
                await a.open_stream("no-such-peer", "echo")
            assert (e.value.code, e.value.reason) == (grpc.StatusCode.NOT_FOUND, "PEER_UNKNOWN")
            assert e.value.metadata["peer"] == "no-such-peer"
            with pytest.raises(invmux.InvMuxError) as e:
                await a.open_stream(sidecars.peer, "")
            assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "open.service")
            with pytest.raises(invmux.InvMuxError) as e:
                await a.accept_stream("bad service!")
            assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "accept.service")
            with pytest.raises(invmux.InvMuxError) as e:
                await a.serve("bad service!", _echo, concurrency=2)
            assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "accept.service")
            with pytest.raises(invmux.InvMuxError) as e:
                await anext(a.watch_health(quality_interval=0.001))
            assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "quality_interval")
            with pytest.raises(TimeoutError, match="py-aio-nobody"):
                await a.accept_stream("py-aio-nobody", timeout=0.5)
            with pytest.raises(ValueError, match="concurrency"):
                await a.serve("py-aio-args", _echo, concurrency=0)

    run(main())


def test_aio_streams_closed_here_raise_stream_closed(sidecars):
    async def main():
        async with aio.Client(sidecars.b) as b:
            a = aio.Client(sidecars.a)
            await ready(a, b)
            accepting = asyncio.create_task(b.accept_stream("py-aio-closed", timeout=30))
            aborted = await a.open_stream(sidecars.peer, "py-aio-closed", timeout=10)
            async with await accepting as peer_side:
                aborted.abort()
                with pytest.raises(invmux.StreamClosedError):
                    await aborted.read()
                with pytest.raises(invmux.InvMuxError) as e:
                    await peer_side.read()  # the acceptor sees the reset
                assert not isinstance(e.value, invmux.StreamClosedError)

            accepting = asyncio.create_task(b.accept_stream("py-aio-closed", timeout=30))
            orphan = await a.open_stream(sidecars.peer, "py-aio-closed", timeout=10)
            async with await accepting:
                await a.close()
                with pytest.raises(invmux.StreamClosedError):
                    await orphan.read()
                with pytest.raises(invmux.StreamClosedError):
                    await orphan.write(b"x")

    run(main())


def test_aio_serve_tries_again_while_the_sidecar_is_cut_off(sidecars, caplog):
    proxy = PausableProxy(sidecars.b)

    async def main():
        async with aio.Client(sidecars.a) as a, aio.Client(proxy.address) as b:
            await ready(a, b)
            stop = asyncio.Event()
            serving = asyncio.create_task(b.serve("py-aio-retry", _echo, concurrency=2, stop_event=stop))
            assert await aio_echo_through(a, sidecars.peer, "py-aio-retry", b"before") == b"before"
            proxy.pause()  # cuts the connection: the waiting AcceptStream calls fail with UNAVAILABLE
            proxy.resume()
            assert await aio_echo_through(a, sidecars.peer, "py-aio-retry", b"after") == b"after"
            stop.set()
            await serving

    try:
        run(main())
        assert_tried_again(proxy, caplog, "py-aio-retry")
    finally:
        proxy.close()


def test_aio_watch_health_starts_with_a_snapshot(sidecars):
    async def main():
        async with aio.Client(sidecars.a) as a:
            await a.wait_for_sidecar(timeout=30)
            events = a.watch_health()
            first = await anext(events)
            await events.aclose()
        assert first.WhichOneof("event") == "snapshot"
        assert [s.peer for s in first.snapshot.sessions] == [sidecars.peer]

    run(main())


def test_aio_endpoint_and_token_from_environment(monkeypatch):
    monkeypatch.setenv("INVMUX_GRPC_ENDPOINT", "127.0.0.1:1")
    monkeypatch.setenv("INVMUX_API_TOKEN", "s3cret")

    async def main():
        async with aio.Client() as c:
            assert c.endpoint == "127.0.0.1:1" and c._metadata == (("authorization", "Bearer s3cret"),)

    run(main())
