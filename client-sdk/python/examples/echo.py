"""A small InvMux app for demos and the cross-language tests.

    python examples/echo.py open --peer pod-b --service echo --bytes 16777216   # send N bytes, read the echo
    python examples/echo.py accept --service echo                              # accept one stream, echo it

Prints one line, "RESULT role=open bytes=N sent_sha256=H echo_sha256=H" resp. "RESULT role=accept bytes=N
sha256=H", and exits 1 when anything failed (open: also when the echo differs). The sidecar is
$INVMUX_GRPC_ENDPOINT (token $INVMUX_API_TOKEN).
"""

import argparse
import hashlib
import random
import sys
import threading

import invmux


def open_side(client, peer, service, size, seed):
    with client.open_stream(peer, service, {"lang": "python"}, timeout=30) as s:
        sent, errors = hashlib.sha256(), []

        def writer():  # write while the echo is read back, or both sides stall on full windows
            try:
                rnd = random.Random(seed)
                for off in range(0, size, 1 << 20):
                    block = rnd.randbytes(min(1 << 20, size - off))
                    sent.update(block)
                    s.write(block)
                s.close_write()
            except Exception as e:
                errors.append(e)

        w = threading.Thread(target=writer, daemon=True)
        w.start()
        echo, n = hashlib.sha256(), 0
        for chunk in s:
            echo.update(chunk)
            n += len(chunk)
        w.join()
        if errors:
            raise errors[0]
    print(f"RESULT role=open bytes={n} sent_sha256={sent.hexdigest()} echo_sha256={echo.hexdigest()}", flush=True)
    return n == size and sent.hexdigest() == echo.hexdigest()


def accept_side(client, service):
    with client.accept_stream(service) as s:
        h, n = hashlib.sha256(), 0
        for chunk in s:
            h.update(chunk)
            n += len(chunk)
            s.write(chunk)
        s.close_write()
        info = s.info
    print(f"RESULT role=accept bytes={n} sha256={h.hexdigest()} peer={info.peer} service={info.service}", flush=True)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["open", "accept"])
    p.add_argument("--peer", default="pod-b")
    p.add_argument("--service", default="echo")
    p.add_argument("--bytes", type=int, default=16 << 20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for the sidecar")
    args = p.parse_args()
    try:
        with invmux.Client() as client:
            client.wait_for_sidecar(args.timeout)
            ok = (open_side(client, args.peer, args.service, args.bytes, args.seed) if args.mode == "open"
                  else accept_side(client, args.service))
    except (invmux.InvMuxError, TimeoutError) as e:
        print(f"echo.py: {e}", file=sys.stderr)
        return 1
    if not ok:
        print("echo.py: the echo differs from what was sent", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
