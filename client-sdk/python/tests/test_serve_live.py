"""Client.serve: AcceptStream calls kept outstanding, a handler thread per stream, clean stops, transient
failures tried again and the others raised."""

import hashlib
import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

import invmux
from support import PausableProxy, assert_tried_again, assert_no_thread_left, echo_through


def _echo(stream):
    for chunk in stream:
        stream.write(chunk)


def test_serve_handles_more_streams_at_once_than_it_keeps_accepting(sidecars, client_a, client_b):
    before = set(threading.enumerate())
    payloads = {str(i): random.Random(i).randbytes(1 << 20) for i in range(8)}
    all_in = threading.Barrier(len(payloads))  # each handler waits for the 8: concurrency 4 must not bound them
    seen = {}

    def echo_hashing(stream):
        all_in.wait(timeout=30)
        h = hashlib.sha256()
        for chunk in stream:
            h.update(chunk)
            stream.write(chunk)
        seen[stream.info.metadata["n"]] = h.hexdigest()

    with client_b.serve("py-serve", echo_hashing, concurrency=4) as server:
        assert server.running and server.concurrency == 4
        with ThreadPoolExecutor(len(payloads)) as pool:
            echoes = dict(zip(payloads, pool.map(
                lambda n: echo_through(client_a, sidecars.peer, "py-serve", payloads[n], {"n": n}), payloads)))
    assert not server.running and server.wait(0)
    for n, payload in payloads.items():
        assert hashlib.sha256(echoes[n]).hexdigest() == hashlib.sha256(payload).hexdigest() == seen[n]
    assert_no_thread_left(before)


def test_stop_with_abort_ends_the_handlers_and_leaves_no_thread(sidecars, client_a, client_b):
    before = set(threading.enumerate())
    started, ended = threading.Event(), []

    def stuck(stream):
        started.set()
        try:
            stream.read()  # the opener never half-closes
        except invmux.StreamClosedError as e:
            ended.append(e)
            raise

    server = client_b.serve("py-serve-stuck", stuck, concurrency=3)
    with client_a.open_stream(sidecars.peer, "py-serve-stuck", timeout=10) as s:
        assert started.wait(30)
        server.stop(abort_streams=True)
        assert server.wait(30) and not server.running
        with pytest.raises(invmux.InvMuxError) as e:
            s.read()  # the opener sees the reset
        assert not isinstance(e.value, invmux.StreamClosedError)
    assert len(ended) == 1
    assert_no_thread_left(before)


def test_setting_the_stop_event_stops_the_server(client_b):
    stop = threading.Event()
    server = client_b.serve("py-serve-event", _echo, concurrency=2, stop_event=stop)
    assert server.running
    stop.set()
    assert server.wait(30) and not server.running


def test_a_failing_handler_resets_its_stream_and_serving_goes_on(sidecars, client_a, client_b, caplog):
    def handler(stream):
        request = stream.read()
        if request == b"fail":
            raise RuntimeError("the handler fails on purpose")
        stream.write(request.upper())

    with client_b.serve("py-serve-fail", handler, concurrency=1):
        with client_a.open_stream(sidecars.peer, "py-serve-fail", timeout=10) as s:
            s.write(b"fail")
            s.close_write()
            with pytest.raises(invmux.InvMuxError) as e:
                s.read()
            assert e.value.code == grpc.StatusCode.CANCELLED  # reset by the peer
        assert echo_through(client_a, sidecars.peer, "py-serve-fail", b"ok") == b"OK"
    failures = [r for r in caplog.records if r.name == "invmux" and r.levelno == logging.ERROR]
    assert len(failures) == 1 and isinstance(failures[0].exc_info[1], RuntimeError)


def test_serve_raises_what_another_try_would_not_cure(client_b):
    server = client_b.serve("bad service!", _echo, concurrency=2)
    with pytest.raises(invmux.InvMuxError) as e:
        server.wait(30)
    assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "accept.service")
    assert not server.running


def test_serve_refuses_bad_arguments_at_once(client_b):
    with pytest.raises(ValueError, match="concurrency"):
        client_b.serve("py-serve-args", _echo, concurrency=0)
    with pytest.raises(TypeError, match="handler"):
        client_b.serve("py-serve-args", "not a function")


def test_serve_tries_again_while_the_sidecar_is_cut_off(sidecars, client_a, caplog):
    proxy = PausableProxy(sidecars.b)
    try:
        with invmux.Client(proxy.address) as client:
            client.wait_for_sidecar(timeout=30)
            with client.serve("py-serve-retry", _echo, concurrency=2) as server:
                assert echo_through(client_a, sidecars.peer, "py-serve-retry", b"before") == b"before"
                proxy.pause()  # cuts the connection: the waiting AcceptStream calls fail with UNAVAILABLE
                proxy.resume()
                assert echo_through(client_a, sidecars.peer, "py-serve-retry", b"after") == b"after"
                assert server.running
        assert_tried_again(proxy, caplog, "py-serve-retry")
    finally:
        proxy.close()


def test_closing_the_client_stops_its_servers(sidecars):
    client = invmux.Client(sidecars.b)
    client.wait_for_sidecar(timeout=30)
    server = client.serve("py-serve-closed", _echo, concurrency=2)
    client.close()
    with pytest.raises(invmux.StreamClosedError):
        server.wait(30)
    assert not server.running
