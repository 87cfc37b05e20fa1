"""Live tests of the Python client against two real sidecar processes (see conftest.py)."""

import hashlib
import random
import socket
import threading
import time

import grpc
import pytest

import invmux

SIZE = 16 * 1024 * 1024


def _payload(size, seed):
    rnd = random.Random(seed)
    block = 1 << 20
    for off in range(0, size, block):
        yield rnd.randbytes(min(block, size - off))


def test_echo_large_payload(sidecars, client_a, client_b):
    accepted = {}

    def acceptor():  # pod-b's app: echo everything back while hashing it
        try:
            with client_b.accept_stream("py-echo", timeout=30) as s:
                h, n = hashlib.sha256(), 0
                for chunk in s:
                    h.update(chunk)
                    n += len(chunk)
                    s.write(chunk)
                s.close_write()
                accepted.update(n=n, sha=h.hexdigest(), info=s.info)
        except Exception as e:  # reported by the main thread
            accepted["error"] = e

    t = threading.Thread(target=acceptor, daemon=True)
    t.start()
    with client_a.open_stream(sidecars.peer, "py-echo", {"lang": "python"}, timeout=10) as s:
        assert s.info.service == "py-echo" and s.info.session_id
        sent = hashlib.sha256()
        write_error = []

        def writer():
            try:
                for block in _payload(SIZE, 42):
                    sent.update(block)
                    s.write(block)
                s.close_write()
            except Exception as e:
                write_error.append(e)

        w = threading.Thread(target=writer, daemon=True)
        w.start()
        echo, n = hashlib.sha256(), 0
        for chunk in s:
            echo.update(chunk)
            n += len(chunk)
        w.join(30)
        assert not write_error, write_error
    t.join(30)
    assert "error" not in accepted, accepted.get("error")
    assert n == SIZE and accepted["n"] == SIZE
    assert echo.hexdigest() == sent.hexdigest() == accepted["sha"]
    assert accepted["info"].metadata["lang"] == "python"
    assert accepted["info"].peer == "pod-a" and accepted["info"].service == "py-echo"


def test_request_then_response_after_eof(sidecars, client_a, client_b):
    """The acceptor reads the whole request (to the end of stream), then answers."""

    def acceptor():
        with client_b.accept_stream("py-rr", timeout=30) as s:
            request = s.read_all()
            s.write(b"got %d bytes: %s" % (len(request), request.upper()))
            s.close_write()

    t = threading.Thread(target=acceptor, daemon=True)
    t.start()
    with client_a.open_stream(sidecars.peer, "py-rr") as s:
        s.write(b"hello")
        s.close_write()
        assert s.read_all() == b"got 5 bytes: HELLO"
    t.join(10)


@pytest.mark.parametrize("traffic_class", list(invmux.TrafficClass))
def test_traffic_class_reaches_the_acceptor(sidecars, client_a, client_b, traffic_class):
    service = "py-tc-" + traffic_class.name.lower()
    seen = {}

    def acceptor():
        try:
            with client_b.accept_stream(service, timeout=30) as s:
                seen.update(cls=s.traffic_class, data=s.read_all())
                s.close_write()
        except Exception as e:  # reported by the main thread
            seen["error"] = e

    t = threading.Thread(target=acceptor, daemon=True)
    t.start()
    data = random.Random(7).randbytes(256 * 1024)
    with client_a.open_stream(sidecars.peer, service, timeout=10, traffic_class=traffic_class) as s:
        assert s.traffic_class == traffic_class
        s.write(data)
        s.close_write()
        assert s.read_all() == b""
    t.join(30)
    assert "error" not in seen, seen.get("error")
    assert seen["cls"] == traffic_class and seen["data"] == data


def test_watch_health_snapshot_then_quality(sidecars, client_a):
    events = client_a.watch_health(quality_interval=0.2)
    try:
        first = next(events)
        assert first.WhichOneof("event") == "snapshot"
        sessions = first.snapshot.sessions
        assert len(sessions) == 1 and sessions[0].peer == sidecars.peer and len(sessions[0].links) == 2
        deadline = time.monotonic() + 10
        for event in events:
            if event.WhichOneof("event") == "quality":
                assert event.quality.link.link_id and event.quality.link.HasField("quality")
                break
            assert time.monotonic() < deadline, "no quality sample within 10 s"
    finally:
        events.close()


def test_bad_requests_surface_status_codes(sidecars, client_a):
    with pytest.raises(invmux.InvMuxError) as e:
        client_a.open_stream(sidecars.peer, "")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "open.service" in e.value.details

    with pytest.raises(invmux.InvMuxError) as e:
        client_a.open_stream("no-such-peer", "echo")
    assert e.value.code == grpc.StatusCode.NOT_FOUND

    with pytest.raises(invmux.InvMuxError) as e:
        client_a.accept_stream("bad service!")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "accept.service" in e.value.details

    with pytest.raises(invmux.InvMuxError) as e:
        next(client_a.watch_health(quality_interval=0.001))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "quality_interval" in e.value.details

    with pytest.raises(invmux.InvMuxError) as e:
        client_a.remove_link("0123456789abcdef0123456789abcdef", "1")
    assert e.value.code == grpc.StatusCode.NOT_FOUND


def test_sessions_and_links(sidecars, client_a):
    sessions = client_a.list_sessions()
    assert len(sessions) == 1 and sessions[0].peer == sidecars.peer and sessions[0].dialer
    assert len(client_a.list_links(sessions[0].session_id)) == 2


def test_wait_for_sidecar_times_out_clearly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = "127.0.0.1:%d" % s.getsockname()[1]
    # nothing listens there now
    with invmux.Client(endpoint) as c:
        start = time.monotonic()
        with pytest.raises(TimeoutError) as e:
            c.wait_for_sidecar(timeout=1)
        assert time.monotonic() - start < 3
    assert endpoint in str(e.value) and "not ready within 1 s" in str(e.value)


def test_endpoint_and_token_from_environment(monkeypatch):
    monkeypatch.setenv("INVMUX_GRPC_ENDPOINT", "127.0.0.1:1")
    monkeypatch.setenv("INVMUX_API_TOKEN", "s3cret")
    with invmux.Client() as c:
        assert c.endpoint == "127.0.0.1:1"
        assert c._metadata == (("authorization", "Bearer s3cret"),)
    monkeypatch.delenv("INVMUX_GRPC_ENDPOINT")
    with invmux.Client(token="") as c:
        assert c.endpoint == invmux.DEFAULT_ENDPOINT and c._metadata == ()
