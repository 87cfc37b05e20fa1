"""Live-test fixtures: two real sidecar processes, pod-a (apps open streams to peer "pod-b" there) and pod-b
(apps accept them there). Their endpoints come from $INVMUX_A_ENDPOINT / $INVMUX_B_ENDPOINT (as written by
client-sdk/testing/sidecars.sh); when those are not set, the session starts a pair with that script."""

import os
import pathlib
import subprocess
import tempfile

import pytest

import invmux

SIDECARS_SH = pathlib.Path(__file__).resolve().parents[2] / "testing" / "sidecars.sh"


class Sidecars:
    def __init__(self, a: str, b: str, peer: str):
        self.a, self.b, self.peer = a, b, peer


@pytest.fixture(scope="session")
def sidecars():
    a, b = os.environ.get("INVMUX_A_ENDPOINT"), os.environ.get("INVMUX_B_ENDPOINT")
    peer = os.environ.get("INVMUX_PEER", "pod-b")
    if a and b:
        yield Sidecars(a, b, peer)
        return
    with tempfile.TemporaryDirectory(prefix="invmux-py-live-") as d:
        subprocess.run([str(SIDECARS_SH), "start", d], check=True)
        try:
            env = dict(line.split("=", 1) for line in pathlib.Path(d, "sidecars.env").read_text().splitlines()
                       if "=" in line)
            yield Sidecars(env["INVMUX_A_ENDPOINT"], env["INVMUX_B_ENDPOINT"], peer)
        finally:
            subprocess.run([str(SIDECARS_SH), "stop", d], check=False)


def _client(endpoint):
    c = invmux.Client(endpoint)
    c.wait_for_sidecar(timeout=30)
    return c


@pytest.fixture
def client_a(sidecars):
    with _client(sidecars.a) as c:
        yield c


@pytest.fixture
def client_b(sidecars):
    with _client(sidecars.b) as c:
        yield c
