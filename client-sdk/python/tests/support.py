"""Helpers of the live tests: a TCP proxy that can cut connections, echoes through a stream, thread and task
accounting."""

import asyncio
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor


class PausableProxy:
    """Forwards TCP connections to a target; pause() cuts those open and holds new ones until resume()."""

    def __init__(self, target: str):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.open = []  # guarded by lock
        self.accepted = 0  # guarded by lock
        self.running = threading.Event()
        self.running.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        self.running.wait()
        try:
            up = socket.create_connection(self.target)
        except OSError:
            c.close()
            return
        with self.lock:
            self.open += [c, up]
        for a, b in ((c, up), (up, c)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def pause(self):
        self.running.clear()
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.open = []

    def resume(self):
        self.running.set()

    def close(self):
        self.server.close()
        self.pause()
        self.resume()


def assert_tried_again(proxy, caplog, service):
    """The proxy's connection was cut (the client connected again) and the server of ``service`` said it tries
    again."""
    with proxy.lock:
        assert proxy.accepted >= 2, "the connection was never cut"
    retries = [r for r in caplog.records if r.name == "invmux" and r.levelno == logging.WARNING]
    assert retries and service in retries[0].getMessage()


def echo_through(client, peer, service, payload: bytes, metadata=None) -> bytes:
    """Opens a stream, writes ``payload`` (on a thread, while the echo is read back) and half-closes; returns what
    came back up to the end of stream."""
    with client.open_stream(peer, service, metadata, timeout=30) as s, ThreadPoolExecutor(1) as pool:
        def send():
            s.write(payload)
            s.close_write()
        sending = pool.submit(send)
        echo = s.read()
        sending.result(30)
    return echo


async def aio_echo_through(client, peer, service, payload: bytes, metadata=None) -> bytes:
    """echo_through for the asyncio client."""
    async with client.open_stream(peer, service, metadata, timeout=30) as s:
        async def send():
            await s.write(payload)
            await s.close_write()
        sending = asyncio.create_task(send())
        echo = await s.read()
        await sending
    return echo


def assert_no_thread_left(before):
    """Every thread started since ``before`` (a set of threads) ended: gRPC's request threads end within 0.25 s of
    their call, so each gets 10 s to."""
    for t in set(threading.enumerate()) - before:
        t.join(10)
    left = sorted(t.name for t in set(threading.enumerate()) - before)
    assert not left, f"threads left running: {left}"


async def assert_no_task_left(before):
    """No task of invmux's (named ``invmux-...``) is left now, and every other task started since ``before`` (a set
    of tasks) ends: gRPC's own, which watch a call for its status, end once the status of a cancelled call came, so
    each gets 10 s to."""
    def started():
        return asyncio.all_tasks() - before - {asyncio.current_task()}

    ours = sorted(t.get_name() for t in started() if t.get_name().startswith("invmux-"))
    assert not ours, f"invmux tasks left running: {ours}"
    if started():
        await asyncio.wait(started(), timeout=10)
    left = sorted(f"{t.get_name()}: {t.get_coro()!r}" for t in started())
    assert not left, f"tasks left running: {left}"
