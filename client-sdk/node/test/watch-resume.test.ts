// A health watch that breaks while the sidecar stays up resumes where it left off: the events missed in between
// come next, numbered on from the last one seen, and no new snapshot.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Client } from "@invmux/client";
import { clientOfA } from "./sidecars";

/** Forwards TCP connections to a target; pause() cuts those open and holds new ones until resume(). */
class PausableProxy {
  readonly server: Server;
  accepted = 0;
  private open: Socket[] = [];
  private held: Array<() => void> | undefined;

  constructor(target: string) {
    const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
    this.server = createServer((c) => {
      this.accepted++;
      const go = () => {
        const up = connect(port, host);
        this.open.push(c, up);
        c.pipe(up);
        up.pipe(c);
        for (const s of [c, up]) {
          s.on("error", () => undefined);
          s.on("close", () => { c.destroy(); up.destroy(); });
        }
      };
      c.on("error", () => undefined);
      if (this.held) {
        this.held.push(go);
      } else {
        go();
      }
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  pause(): void {
    this.held = [];
    for (const s of this.open) {
      s.destroy();
    }
    this.open = [];
  }

  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    held.forEach((go) => go());
  }

  close(): void {
    this.server.close();
    this.pause();
    this.held = undefined;
  }
}

describe("InvMux Node client: resumed health watch", () => {
  const live = clientOfA();

  test("a watch that breaks resumes with the events it missed", async () => {
    const { sc, a } = live();
    const ports = (process.env.INVMUX_LINK_PORTS ?? "").replace(/"/g, "").split(/\s+/).filter((p) => p);
    assert.ok(ports.length > 0, "INVMUX_LINK_PORTS (pod-b's peer-link ports, from sidecars.env) is not set");
    const proxy = new PausableProxy(sc.a);
    const watched = new Client({ endpoint: await proxy.listen() });
    let sessionId = "";
    try {
      await watched.waitForSidecar(30_000);
      let last: { sequence: number; epoch: string } | undefined;
      for await (const ev of watched.watchHealth()) {
        if (!last) {
          assert.equal(ev.event?.$case, "snapshot");
          assert.ok(ev.epoch);
          last = ev;
          proxy.pause();
          sessionId = (await a.dialLink("node-resume", `tcp://127.0.0.1:${ports[0]}`)).sessionId;
          proxy.resume();
          continue;
        }
        assert.notEqual(ev.event?.$case, "snapshot", "after the break: a new snapshot, not the missed events");
        assert.deepEqual([ev.epoch, ev.sequence], [last.epoch, last.sequence + 1]);
        last = ev;
        if (ev.event?.$case === "session" && ev.event.value.kind === 1
          && ev.event.value.session?.sessionId === sessionId) {
          break; // the new session's start, missed while the watch was cut, was replayed
        }
      }
      assert.ok(proxy.accepted >= 2, "the watch was never broken");
    } finally {
      watched.close();
      proxy.close();
      if (sessionId) {
        await new Promise<void>((resolve, reject) => a.connections.closeSession({ sessionId }, (err) =>
          err ? reject(err) : resolve()));
      }
    }
  });
});
