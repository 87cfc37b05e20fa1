"""A health watch that breaks while the sidecar stays up resumes where it left off: the events missed in between
come next, numbered on from the last one seen, and no new snapshot."""

import os

import invmux
from invmux.v1 import connection_service_pb2 as conn_pb
from support import PausableProxy


def test_a_watch_that_breaks_resumes_with_the_events_it_missed(sidecars, client_a):
    ports = os.environ.get("INVMUX_LINK_PORTS", "").strip('"').split()
    assert ports, "INVMUX_LINK_PORTS (pod-b's peer-link ports, from sidecars.env) is not set"
    proxy = PausableProxy(sidecars.a)
    watched = invmux.Client(proxy.address)
    link = None
    try:
        watched.wait_for_sidecar(timeout=30)
        events = watched.watch_health()
        last = next(events)
        assert last.WhichOneof("event") == "snapshot" and last.epoch
        proxy.pause()
        link = client_a.dial_link("py-resume", "tcp://127.0.0.1:" + ports[0])
        proxy.resume()
        for event in events:
            assert event.WhichOneof("event") != "snapshot", "after the break: a new snapshot, not the missed events"
            assert (event.epoch, event.sequence) == (last.epoch, last.sequence + 1)
            last = event
            if (event.WhichOneof("event") == "session" and event.session.kind == event.session.KIND_STARTED
                    and event.session.session.session_id == link.session_id):
                break  # the new session's start, missed while the watch was cut, was replayed
        events.close()
        with proxy.lock:
            assert proxy.accepted >= 2, "the watch was never broken"
    finally:
        if link is not None:
            client_a.connections.CloseSession(conn_pb.CloseSessionRequest(session_id=link.session_id), timeout=30)
        watched.close()
        proxy.close()
