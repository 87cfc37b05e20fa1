#!/usr/bin/env python3
"""Traffic of deploy/rehearsal.sh: a plain TCP client that pushes bytes through an InvMux forward and checks what
comes back, running commands part way through (a certificate rotation, a cut link).

    rehearsal-traffic.py client --connect 127.0.0.1:8080 --mib 64 --at 16 "rotate-cert" --at 32 "ip link set net1 down"
    rehearsal-traffic.py echo --listen 127.0.0.1:9000      (only when socat is missing)

client: sends MIB mebibytes of random data, half-closes, reads the echo until EOF and compares the sha256 of what
came back with what was sent; once N mebibytes have come back it runs CMD (sh -c) of each --at N CMD, in order,
while the sender goes on (the reader waits for the command: keep it short). Exit 0 when the bytes came back intact
and every command ran and exited 0, 1 otherwise. Prints one JSON line of results.
"""
import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

MIB = 1 << 20


def client(a):
    host, port = a.connect.rsplit(":", 1)
    data = os.urandom(a.mib * MIB)
    want = hashlib.sha256(data).hexdigest()
    s = socket.create_connection((host, int(port)), timeout=a.timeout)
    s.settimeout(a.timeout)
    sent_error = []

    def send():
        try:
            view = memoryview(data)
            for off in range(0, len(data), MIB):
                s.sendall(view[off:off + MIB])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            sent_error.append(repr(e))

    start = time.monotonic()
    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    h = hashlib.sha256()
    got = 0
    events = sorted(((int(mib), cmd) for mib, cmd in a.at), key=lambda e: e[0])
    done = []
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            h.update(b)
            got += len(b)
            while len(done) < len(events) and got >= events[len(done)][0] * MIB:
                cmd = events[len(done)][1]
                r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)
                done.append({"cmd": cmd, "at_bytes": got, "at_seconds": round(time.monotonic() - start, 3),
                             "rc": r.returncode, "output": (r.stdout + r.stderr).strip()[-500:]})
                print(f"after {got / MIB:.1f} MiB came back: {cmd} (exit {r.returncode})", flush=True)
                if r.returncode != 0:
                    print(done[-1]["output"], flush=True)
    except OSError as e:
        sent_error.append("receive: " + repr(e))
    elapsed = time.monotonic() - start
    writer.join(5)
    ok = got == len(data) and h.hexdigest() == want and not sent_error
    print(json.dumps({"ok": ok, "sent_bytes": len(data), "received_bytes": got, "sha256_sent": want,
                      "sha256_received": h.hexdigest(), "seconds": round(elapsed, 2),
                      "mib_per_second_each_way": round(got / MIB / elapsed, 1) if elapsed else None,
                      "events": done, "errors": sent_error}), flush=True)
    return 0 if ok and len(done) == len(events) and all(e["rc"] == 0 for e in done) else 1


def echo(a):
    host, port = a.listen.rsplit(":", 1)
    srv = socket.create_server((host, int(port)))

    def serve(c):
        with c:
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                c.sendall(b)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--connect", required=True)
    c.add_argument("--mib", type=int, default=64)
    c.add_argument("--at", nargs=2, action="append", default=[], metavar=("MIB", "CMD"),
                   help="run CMD (sh -c) once MIB mebibytes have come back; repeatable")
    c.add_argument("--timeout", type=float, default=60.0, help="socket timeout: no byte for this long fails")
    e = sub.add_parser("echo")
    e.add_argument("--listen", required=True)
    a = p.parse_args()
    sys.exit(client(a) if a.cmd == "client" else echo(a))


if __name__ == "__main__":
    main()
