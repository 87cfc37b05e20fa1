#!/usr/bin/env python3
"""Constant-delay relay between two interfaces (a userspace stand-in for netem).

The lab's kernel has no sch_netem, so lab.sh adds propagation delay by putting a
third namespace (<prefix>-d) in the middle of a link and running this relay
there.  It reads every frame arriving on interface A with an AF_PACKET socket,
holds it for --delay-ms and writes it out of interface B unchanged (and the
same the other way round).  The relay is a wire: it never answers ARP, never
drops except when its own queue overflows (--max-queue frames), and keeps the
order of frames.

PACKET_VNET_HDR is used on both sockets so that GSO super-frames (up to 64 KiB,
which veth passes through untouched) and partial checksums are forwarded with
their offload metadata, exactly as a tap device would; without it a 64 KiB
frame could not be re-sent and checksums would arrive unfinished.

Only the standard library is used; one process serves one link, both ways.
"""
import argparse
import collections
import os
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
# virtio_net_hdr (10 bytes) + Ethernet header + the largest GSO payload veth hands over.
BUFSIZE = 10 + 14 + 65536 + 512


def open_socket(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    try:
        # Frames we send must not come back to us as "outgoing" copies.
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass  # kernels before 4.20: filtered by pkttype below instead
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((ifname, ETH_P_ALL))
    s.setblocking(False)
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--if-a", required=True)
    ap.add_argument("--if-b", required=True)
    ap.add_argument("--delay-ms", type=float, required=True, help="one-way delay, each direction")
    ap.add_argument("--pid-file", help="written once the sockets are bound")
    ap.add_argument("--max-queue", type=int, default=100000, help="frames held per direction before tail drop")
    args = ap.parse_args()

    delay = args.delay_ms / 1000.0
    sa, sb = open_socket(args.if_a), open_socket(args.if_b)
    # queue[s] holds (due_time, frame) read from s, to be written to the other socket.
    peer = {sa: sb, sb: sa}
    queue = {sa: collections.deque(), sb: collections.deque()}
    stats = {"fwd": 0, "qdrop": 0, "txerr": 0}

    def report(*_):
        print(f"delayline {args.if_a}<->{args.if_b} delay={args.delay_ms}ms stats={stats}", flush=True)

    signal.signal(signal.SIGUSR1, report)
    signal.signal(signal.SIGTERM, lambda *_: (report(), sys.exit(0)))

    poller = select.epoll()
    poller.register(sa.fileno(), select.EPOLLIN)
    poller.register(sb.fileno(), select.EPOLLIN)
    by_fd = {sa.fileno(): sa, sb.fileno(): sb}
    if args.pid_file:
        with open(args.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pid_file + ".tmp", args.pid_file)  # appears complete or not at all
    print(f"delayline {args.if_a}<->{args.if_b} delay={args.delay_ms}ms pid={os.getpid()} ready", flush=True)

    while True:
        now = time.monotonic()
        # Send everything that is due, oldest first; a constant delay keeps FIFO order.
        next_due = None
        for src, q in queue.items():
            dst = peer[src]
            while q and q[0][0] <= now:
                _, frame = q.popleft()
                try:
                    dst.send(frame)
                    stats["fwd"] += 1
                except OSError:
                    # Peer end down (lab.sh cut) or its queue full: the frame is lost, like on a wire.
                    stats["txerr"] += 1
            if q and (next_due is None or q[0][0] < next_due):
                next_due = q[0][0]
        timeout = -1 if next_due is None else max(0.0, next_due - time.monotonic())
        try:
            events = poller.poll(timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, _ in events:
            src = by_fd[fd]
            q = queue[src]
            while True:  # drain the socket: one wake-up per burst, not per frame
                try:
                    frame, addr = src.recvfrom(BUFSIZE)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                if len(q) >= args.max_queue:
                    stats["qdrop"] += 1
                    continue
                q.append((now + delay, frame))


if __name__ == "__main__":
    sys.exit(main())
