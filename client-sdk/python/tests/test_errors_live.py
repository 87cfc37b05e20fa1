"""Typed errors: every failure the sidecar reports reaches the app as an InvMuxError with the sidecar's stable
reason, the field at fault and, where retrying helps, a retry delay. Asserted on those, never on the message."""

import socket

import grpc
import pytest

import invmux


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_peer_is_peer_unknown_naming_the_peer(client_a):
    with pytest.raises(invmux.InvMuxError) as e:
        client_a.open_stream("no-such-peer", "echo")
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    assert e.value.reason == "PEER_UNKNOWN"
    assert e.value.metadata["peer"] == "no-such-peer"
    assert e.value.retry_delay is None


def test_bad_arguments_name_their_field(sidecars, client_a):
    with pytest.raises(invmux.InvMuxError) as e:
        client_a.open_stream(sidecars.peer, "")
    assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "open.service")

    with pytest.raises(invmux.InvMuxError) as e:
        client_a.accept_stream("bad service!")
    assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "accept.service")

    with pytest.raises(invmux.InvMuxError) as e:
        next(client_a.watch_health(quality_interval=0.001))
    assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "quality_interval")

    with pytest.raises(invmux.InvMuxError) as e:
        client_a.dial_link("no/slash", "tcp://127.0.0.1:1")
    assert (e.value.reason, e.value.field) == ("INVALID_ARGUMENT", "peer")


def test_unknown_session_is_session_unknown(client_a):
    with pytest.raises(invmux.InvMuxError) as e:
        client_a.remove_link("0123456789abcdef0123456789abcdef", "1")
    assert e.value.reason == "SESSION_UNKNOWN"
    assert e.value.metadata["session_id"] == "0123456789abcdef0123456789abcdef"


def test_a_dial_to_a_closed_port_is_link_failed_with_a_retry_delay(client_a):
    with pytest.raises(invmux.InvMuxError) as e:
        client_a.dial_link("py-errors-closed", f"tcp://127.0.0.1:{_closed_port()}")
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert e.value.reason == "LINK_FAILED"
    assert e.value.retry_delay is not None and e.value.retry_delay.total_seconds() > 0
