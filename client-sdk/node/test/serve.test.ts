// Live tests of Client.serve and of AbortSignals on calls, against two real sidecar processes (see sidecars.ts).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { AbortError, Client, InvMuxError, status, type InvMuxStream } from "@invmux/client";
import { echoBack, sendAndReadEcho } from "../examples/echo";
import { clientsOfBoth, type Sidecars } from "./sidecars";

const MIB = 1 << 20;
/** Tells this run's services from those of runs before against the same sidecars (streams may wait there). */
const RUN = process.pid.toString(36);

/** A promise with its resolve function. */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const isAbortError = (reason: unknown) => (e: unknown) =>
  e instanceof AbortError && e.name === "AbortError" && e.cause === reason;

/**
 * Resolves with the reset `s` sees, reading (and dropping) what comes before it; fails if `s` reads the end of
 * stream first: an aborted stream must never look whole to its peer. (grpc-js cancels a call through Node's http2,
 * which ends the request stream right before resetting it; the SDK's abort sends the reset message first, so the
 * sidecar resets the stream rather than passing that end on. `s` must not have ended its writing: a stream whose
 * both directions ended closes, and a reset after that is not seen.)
 */
async function resetSeenBy(s: InvMuxStream): Promise<InvMuxError> {
  let ended = false;
  s.once("end", () => {
    ended = true;
  });
  const reset = once(s, "error") as Promise<[InvMuxError]>;
  s.resume();
  const [e] = await reset;
  s.destroy();
  assert.ok(!ended, "the peer read the end of stream before the reset");
  return e;
}

const isReset = (e: InvMuxError) => e.code === status.CANCELLED || e.code === status.UNAVAILABLE;

/**
 * Opens streams from `a` to `service` until one reaches a new acceptor on `b` and is echoed: proof that no
 * acceptor cancelled before is still waiting there. A stream that reaches the sidecar before it has taken an
 * acceptor's cancellation is handed to that acceptor and reset, so up to `cancelled` streams may fail on the way:
 * with CANCELLED, or (when the acceptor's half-close came first, as it does from Node, whose http2 ends a stream
 * before resetting it) with an empty echo, the end of stream arriving before the reset. An acceptor left waiting
 * would take a stream and neither answer nor reset it: that attempt fails once its signal times out.
 */
async function echoThroughNewAcceptor(a: Client, b: Client, peer: string, service: string, cancelled: number):
  Promise<void> {
  const accepting = b.acceptStream(service, { timeoutMs: 30_000 });
  const echoing = accepting.then(async (s) => {
    await echoBack(s);
    await s.close();
  });
  for (let resets = 0; ; resets++) {
    const s = await a.openStream(peer, service, {}, { timeoutMs: 10_000, signal: AbortSignal.timeout(10_000) });
    const data = randomBytes(1000);
    s.write(data);
    const echo = await s.closeWrite().then(() => s.readAll()).catch((e: unknown) => e);
    s.destroy();
    if (echo instanceof Buffer && echo.equals(data)) {
      await echoing;
      return;
    }
    const reset = echo instanceof InvMuxError ? echo.code === status.CANCELLED : echo instanceof Buffer && !echo.length;
    assert.ok(reset, `neither echoed nor reset: ${echo instanceof Buffer ? `${echo.length} bytes` : echo}`);
    assert.ok(resets < cancelled, `more streams reset than the ${cancelled} acceptors cancelled`);
  }
}

/**
 * A TCP gate in front of a sidecar's API: while shut it closes every connection at once (the client sees
 * UNAVAILABLE); once opened it forwards them.
 */
class Gate {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private open = false;
  private refused = 0;
  private readonly refusalWaiters: { count: number; resolve: () => void }[] = [];

  private constructor(server: Server) {
    this.server = server;
  }

  static async inFrontOf(endpoint: string): Promise<Gate> {
    const colon = endpoint.lastIndexOf(":");
    const [host, port] = [endpoint.slice(0, colon), Number(endpoint.slice(colon + 1))];
    let gate!: Gate;
    const server = createServer((c) => gate.onConnection(c, host, port));
    gate = new Gate(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return gate;
  }

  get endpoint(): string {
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** Resolves once `count` connections were refused. */
  refusedAtLeast(count: number): Promise<void> {
    return this.refused >= count ? Promise.resolve()
      : new Promise((resolve) => this.refusalWaiters.push({ count, resolve }));
  }

  letThrough(): void {
    this.open = true;
  }

  close(): Promise<void> {
    for (const s of this.sockets) {
      s.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(c: Socket, host: string, port: number): void {
    if (!this.open) {
      c.destroy();
      this.refused++;
      for (const w of this.refusalWaiters.filter((x) => this.refused >= x.count)) {
        w.resolve();
      }
      return;
    }
    const up = connect(port, host);
    for (const s of [c, up]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined); // the other side is destroyed on close below
    }
    c.pipe(up).pipe(c);
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
  }
}

describe("serve and AbortSignal against real sidecars", () => {
  const clients = clientsOfBoth();
  let sc: Sidecars;
  let a: Client;
  let b: Client;
  before(() => ({ sc, a, b } = clients()));

  test("serve with concurrency 4 echoes 8 concurrent 1 MiB streams, all in handlers at once", async () => {
    const service = `node-serve-8-${RUN}`;
    const stop = new AbortController();
    const allArrived = signalled();
    let arrived = 0;
    const served: string[] = [];
    const serving = b.serve(service, async (s) => {
      // every handler waits for all 8: only if each accepted call is replaced at once are 8 in handlers together
      if (++arrived === 8) {
        allArrived.resolve();
      }
      await allArrived.promise;
      const { bytes, sha256 } = await echoBack(s);
      assert.equal(bytes, MIB);
      served.push(sha256);
    }, { concurrency: 4, signal: stop.signal });

    try {
      const results = await Promise.all(Array.from({ length: 8 }, async () => {
        const s = await a.openStream(sc.peer, service, {}, { timeoutMs: 10_000 });
        return sendAndReadEcho(s, MIB);
      }));
      for (const r of results) {
        assert.equal(r.bytes, MIB);
        assert.equal(r.echoSha256, r.sentSha256);
      }
      stop.abort();
      await serving;
      assert.deepEqual([...served].sort(), results.map((r) => r.sentSha256).sort());
    } finally {
      allArrived.resolve();
      stop.abort();
    }
  });

  test("an abort stops serve once its handler in flight finished, and leaves no accept call behind", async () => {
    const service = `node-serve-stop-${RUN}`;
    const stop = new AbortController();
    const handlerStarted = signalled();
    const release = signalled();
    let handlerDone = false;
    const serving = b.serve(service, async (s) => {
      handlerStarted.resolve();
      await release.promise;
      await echoBack(s);
      handlerDone = true;
    }, { concurrency: 4, signal: stop.signal });
    try {
      const opener = (async () => sendAndReadEcho(await a.openStream(sc.peer, service), 64 * 1024))();
      await handlerStarted.promise;
      let handlerDoneWhenServeResolved: boolean | undefined;
      const served = serving.then(() => (handlerDoneWhenServeResolved = handlerDone));
      stop.abort(new Error("shutting down"));

      // serve had 4 calls waiting (the one that accepted was replaced at once)
      await echoThroughNewAcceptor(a, b, sc.peer, service, 4);

      release.resolve();
      await served;
      assert.equal(handlerDoneWhenServeResolved, true);
      const first = await opener;
      assert.equal(first.echoSha256, first.sentSha256);
    } finally {
      release.resolve();
      stop.abort();
    }
  });

  test("serve retries while the sidecar is unreachable and serves once it is reachable", async () => {
    const gate = await Gate.inFrontOf(sc.b);
    const c = new Client({ endpoint: gate.endpoint });
    const stop = new AbortController();
    const service = `node-serve-retry-${RUN}`;
    try {
      let failure: unknown;
      const serving = c.serve(service, async (s) => {
        await echoBack(s);
      }, { concurrency: 2, signal: stop.signal })
        .catch((e: unknown) => (failure = e));
      await gate.refusedAtLeast(2); // UNAVAILABLE, tried again
      assert.equal(failure, undefined);
      gate.letThrough();
      const seen = await sendAndReadEcho(await a.openStream(sc.peer, service, {}, { timeoutMs: 10_000 }), 1000);
      assert.equal(seen.echoSha256, seen.sentSha256);
      stop.abort();
      await serving;
      assert.equal(failure, undefined);
    } finally {
      stop.abort();
      c.close();
      await gate.close();
    }
  });

  test("closing the client ends serve with CANCELLED", async () => {
    const c = new Client({ endpoint: sc.b });
    await c.waitForSidecar(10_000);
    const serving = c.serve(`node-serve-closed-${RUN}`, () => undefined, { concurrency: 2 });
    c.close();
    await assert.rejects(serving, (e: InvMuxError) =>
      e instanceof InvMuxError && e.code === status.CANCELLED && e.details.includes("the client was closed"));
  });

  test("serve rejects at once on a failure no retry cures, and on bad options", async () => {
    await assert.rejects(b.serve("bad service!", () => undefined), (e: InvMuxError) =>
      e instanceof InvMuxError && e.code === status.INVALID_ARGUMENT && e.details.includes("accept.service"));
    await assert.rejects(b.serve("x", () => undefined, { concurrency: 0 }), (e: Error) =>
      e instanceof RangeError && e.message.includes("concurrency must be an integer of at least 1, not 0"));
    await assert.rejects(b.serve("x", undefined as unknown as () => void), TypeError);
  });

  test("a handler that rejects has its stream aborted, and serving goes on", async () => {
    const service = `node-serve-throw-${RUN}`;
    const stop = new AbortController();
    const reported: unknown[] = [];
    let calls = 0;
    const boom = new Error("handler failed");
    const serving = b.serve(service, async (s: InvMuxStream) => {
      if (++calls === 1) {
        await once(s, "data"); // the opener is still writing: its stream cannot end before the reset
        throw boom;
      }
      await echoBack(s);
    }, { concurrency: 1, signal: stop.signal, onHandlerError: (e) => reported.push(e) });

    try {
      const first = await a.openStream(sc.peer, service, {}, { timeoutMs: 10_000 });
      const reset = resetSeenBy(first);
      first.write(Buffer.from("hello"));
      assert.ok(isReset(await reset));
      assert.deepEqual(reported, [boom]);

      const second = await sendAndReadEcho(await a.openStream(sc.peer, service, {}, { timeoutMs: 10_000 }), 1000);
      assert.equal(second.echoSha256, second.sentSha256);
      stop.abort();
      await serving;
    } finally {
      stop.abort();
    }
  });

  test("openStream aborted while opening rejects with an AbortError; an aborted signal starts no call", async () => {
    const ac = new AbortController();
    const reason = new Error("the user gave up");
    const opening = a.openStream(sc.peer, `node-abort-open-${RUN}`, {}, { signal: ac.signal });
    ac.abort(reason); // before the sidecar can have answered: the call is still opening
    await assert.rejects(opening, isAbortError(reason));
    await assert.rejects(a.openStream(sc.peer, `node-abort-open-${RUN}`, {}, { signal: ac.signal }), isAbortError(reason));
    await assert.rejects(a.acceptStream(`node-abort-open-${RUN}`, { signal: ac.signal }), isAbortError(reason));
  });

  test("aborting an open stream destroys it with an AbortError, and the peer sees a reset", async () => {
    const service = `node-abort-stream-${RUN}`;
    const ac = new AbortController();
    const reason = new Error("done with it");
    const accepting = b.acceptStream(service, { timeoutMs: 10_000 });
    const s = await a.openStream(sc.peer, service, {}, { signal: ac.signal, timeoutMs: 10_000 });
    const peer = await accepting;
    s.write(randomBytes(1000));
    const firstChunk = await new Promise<Buffer>((resolve) => peer.once("data", resolve));
    assert.ok(firstChunk.length > 0);
    const reading = s.readAll();
    const reset = resetSeenBy(peer);
    ac.abort(reason);
    await assert.rejects(reading, isAbortError(reason));
    assert.ok(isReset(await reset));
  });

  test("an acceptStream aborted while waiting rejects with an AbortError and the next acceptor gets the stream",
    async () => {
      const service = `node-abort-accept-${RUN}`;
      const ac = new AbortController();
      const reason = new Error("no longer accepting");
      const waiting = b.acceptStream(service, { signal: ac.signal });
      // a round trip on the same connection first, so that the sidecar most likely has the accept in hand when it
      // is aborted (the test holds either way)
      await b.listSessions();
      ac.abort(reason);
      await assert.rejects(waiting, isAbortError(reason));

      await echoThroughNewAcceptor(a, b, sc.peer, service, 1);
    });

  test("watchHealth ends with an AbortError when its signal aborts, handing out nothing after", async () => {
    const ac = new AbortController();
    const reason = new Error("seen enough");
    const events: string[] = [];
    await assert.rejects((async () => {
      for await (const ev of a.watchHealth({ signal: ac.signal })) {
        events.push(ev.event?.$case ?? "");
        ac.abort(reason);
      }
    })(), isAbortError(reason));
    assert.deepEqual(events, ["snapshot"]);
  });

  test("unary calls and waitForSidecar reject with an AbortError", async () => {
    const ac = new AbortController();
    const reason = new Error("stop");
    const stats = a.getStats({ signal: ac.signal });
    const sessions = a.listSessions({ signal: ac.signal });
    const nothing = new Client({ endpoint: "127.0.0.1:1" });
    try {
      const waiting = nothing.waitForSidecar(60_000, { signal: ac.signal });
      ac.abort(reason);
      await assert.rejects(stats, isAbortError(reason));
      await assert.rejects(sessions, isAbortError(reason));
      await assert.rejects(waiting, isAbortError(reason));
      await assert.rejects(a.listLinks("", { signal: ac.signal }), isAbortError(reason));
    } finally {
      nothing.close();
    }
    assert.equal((await a.listSessions()).length, 1); // the client goes on
  });
});
