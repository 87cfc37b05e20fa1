#!/usr/bin/env python3
"""Traffic of deploy/rehearsal.sh: a plain TCP client that pushes bytes through an InvMux forward and checks what
comes back, cutting a link part way through.

    rehearsal-traffic.py client --connect 127.0.0.1:8080 --mib 64 --cut-at-mib 16 --cut-cmd "ip link set net1 down"
    rehearsal-traffic.py echo --listen 127.0.0.1:9000      (only when socat is missing)

client: sends MIB mebibytes of random data, half-closes, reads the echo until EOF and compares the sha256 of what
came back with what was sent; once CUT_AT_MIB mebibytes have come back it runs CUT_CMD (sh -c) without pausing the
transfer. Exit 0 when the bytes came back intact, 1 otherwise. Prints one JSON line of results.
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
    cut = None
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            h.update(b)
            got += len(b)
            if cut is None and a.cut_cmd and got >= a.cut_at_mib * MIB:
                r = subprocess.run(["sh", "-c", a.cut_cmd], capture_output=True, text=True)
                cut = {"at_bytes": got, "at_seconds": round(time.monotonic() - start, 3), "rc": r.returncode,
                       "output": (r.stdout + r.stderr).strip()[-500:]}
                print(f"cut after {got / MIB:.1f} MiB came back: {a.cut_cmd} (exit {r.returncode})", flush=True)
    except OSError as e:
        sent_error.append("receive: " + repr(e))
    elapsed = time.monotonic() - start
    writer.join(5)
    ok = got == len(data) and h.hexdigest() == want and not sent_error
    print(json.dumps({"ok": ok, "sent_bytes": len(data), "received_bytes": got, "sha256_sent": want,
                      "sha256_received": h.hexdigest(), "seconds": round(elapsed, 2),
                      "mib_per_second_each_way": round(got / MIB / elapsed, 1) if elapsed else None,
                      "cut": cut, "errors": sent_error}), flush=True)
    return 0 if ok and (cut is not None or not a.cut_cmd) else 1


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
    c.add_argument("--cut-at-mib", type=int, default=16)
    c.add_argument("--cut-cmd", default="")
    c.add_argument("--timeout", type=float, default=60.0, help="socket timeout: no byte for this long fails")
    e = sub.add_parser("echo")
    e.add_argument("--listen", required=True)
    a = p.parse_args()
    sys.exit(client(a) if a.cmd == "client" else echo(a))


if __name__ == "__main__":
    main()
