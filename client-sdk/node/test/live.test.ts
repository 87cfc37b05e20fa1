// Live tests of the Node client against two real sidecar processes (see sidecars.ts).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Client, InvMuxError, TrafficClass, status } from "@invmux/client";
import { echoBack, sendAndReadEcho } from "../examples/echo";
import { clientsOfBoth, type Sidecars } from "./sidecars";

const SIZE = 16 * 1024 * 1024;

describe("InvMux Node client against real sidecars", () => {
  const clients = clientsOfBoth();
  let sc: Sidecars;
  let a: Client;
  let b: Client;
  before(() => ({ sc, a, b } = clients()));

  test("echo of 16 MiB through open/accept, sha256 on both sides", async () => {
    const accepted = (async () => {
      const s = await b.acceptStream("node-echo", { timeoutMs: 30_000 });
      const echoed = await echoBack(s);
      await s.close();
      return { ...echoed, info: s.info };
    })();

    const s = await a.openStream(sc.peer, "node-echo", { lang: "node" }, { timeoutMs: 10_000 });
    assert.equal(s.info.service, "node-echo");
    assert.ok(s.info.sessionId);
    const seen = await sendAndReadEcho(s, SIZE);
    const acc = await accepted;
    assert.equal(seen.bytes, SIZE);
    assert.equal(acc.bytes, SIZE);
    assert.equal(seen.echoSha256, seen.sentSha256);
    assert.equal(acc.sha256, seen.sentSha256);
    assert.equal(acc.info.metadata.lang, "node");
    assert.equal(acc.info.peer, "pod-a");
  });

  test("the acceptor answers after reading the whole request", async () => {
    const server = (async () => {
      const s = await b.acceptStream("node-rr", { timeoutMs: 30_000 });
      const req = await s.readAll();
      s.write(Buffer.from(`got ${req.length} bytes: ${req.toString().toUpperCase()}`));
      await s.closeWrite();
      await s.close();
    })();
    const s = await a.openStream(sc.peer, "node-rr");
    s.write(Buffer.from("hello"));
    await s.closeWrite();
    assert.equal((await s.readAll()).toString(), "got 5 bytes: HELLO");
    await s.close();
    await server;
  });

  for (const trafficClass of [TrafficClass.TRAFFIC_CLASS_BULK, TrafficClass.TRAFFIC_CLASS_INTERACTIVE,
    TrafficClass.TRAFFIC_CLASS_REDUNDANT]) {
    test(`a ${TrafficClass[trafficClass]} stream reaches the acceptor as one`, async () => {
      const service = `node-tc-${trafficClass}`;
      const data = randomBytes(256 * 1024);
      const server = (async () => {
        const s = await b.acceptStream(service, { timeoutMs: 30_000 });
        const got = await s.readAll();
        await s.closeWrite();
        await s.close();
        return { cls: s.info.trafficClass, got };
      })();
      const s = await a.openStream(sc.peer, service, {}, { timeoutMs: 10_000, trafficClass });
      assert.equal(s.info.trafficClass, trafficClass);
      s.write(data);
      await s.closeWrite();
      assert.equal((await s.readAll()).length, 0);
      await s.close();
      const seen = await server;
      assert.equal(seen.cls, trafficClass);
      assert.ok(seen.got.equals(data));
    });
  }

  test("watchHealth yields the snapshot, then quality samples", async () => {
    let first = true;
    const deadline = Date.now() + 10_000;
    for await (const ev of a.watchHealth({ qualityIntervalMs: 200 })) {
      if (first) {
        assert.equal(ev.event?.$case, "snapshot");
        const sessions = ev.event.$case === "snapshot" ? ev.event.value.sessions : [];
        assert.equal(sessions.length, 1);
        assert.equal(sessions[0].peer, sc.peer);
        assert.equal(sessions[0].links.length, 2);
        first = false;
        continue;
      }
      if (ev.event?.$case === "quality") {
        assert.ok(ev.event.value.link?.linkId);
        assert.ok(ev.event.value.link?.quality);
        return;
      }
      assert.ok(Date.now() < deadline, "no quality sample within 10 s");
    }
    assert.fail("the watch ended");
  });

  test("bad requests surface their status codes", async () => {
    await assert.rejects(a.openStream(sc.peer, ""), (e: InvMuxError) =>
      e.code === status.INVALID_ARGUMENT && e.details.includes("open.service"));
    await assert.rejects(a.openStream("no-such-peer", "echo"), (e: InvMuxError) => e.code === status.NOT_FOUND);
    await assert.rejects(a.acceptStream("bad service!"), (e: InvMuxError) =>
      e.code === status.INVALID_ARGUMENT && e.details.includes("accept.service"));
    await assert.rejects((async () => {
      for await (const _ of a.watchHealth({ qualityIntervalMs: 1 })) {
        break;
      }
    })(), (e: InvMuxError) => e.code === status.INVALID_ARGUMENT && e.details.includes("quality_interval"));
    await assert.rejects(a.removeLink("0123456789abcdef0123456789abcdef", "1"),
      (e: InvMuxError) => e.code === status.NOT_FOUND);
  });

  test("sessions and links", async () => {
    const sessions = await a.listSessions();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0].peer, sc.peer);
    assert.equal(sessions[0].dialer, true);
    assert.equal((await a.listLinks(sessions[0].sessionId)).length, 2);
  });

  test("waitForSidecar times out clearly when nothing listens", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const c = new Client({ endpoint: `127.0.0.1:${port}` });
    const start = Date.now();
    await assert.rejects(c.waitForSidecar(1000), (e: Error) =>
      e.message.includes(`127.0.0.1:${port}`) && e.message.includes("not ready within 1000 ms"));
    assert.ok(Date.now() - start < 3000);
    c.close();
  });

  test("endpoint and token from the environment", () => {
    const saved = { ...process.env };
    try {
      process.env.INVMUX_GRPC_ENDPOINT = "127.0.0.1:1";
      process.env.INVMUX_API_TOKEN = "s3cret";
      const c = new Client();
      assert.equal(c.endpoint, "127.0.0.1:1");
      assert.equal((c as any).md().get("authorization")[0], "Bearer s3cret");
      c.close();
      delete process.env.INVMUX_GRPC_ENDPOINT;
      const d = new Client({ token: "" });
      assert.equal(d.endpoint, "127.0.0.1:7701");
      assert.equal((d as any).md().get("authorization").length, 0);
      d.close();
    } finally {
      process.env = saved;
    }
  });
});
