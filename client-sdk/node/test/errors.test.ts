// Typed errors: every failure the sidecar reports reaches the app as an InvMuxError with the sidecar's stable
// reason, the field at fault and, where retrying helps, a retry delay. Asserted on those, never on the message.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { InvMuxError, status } from "@invmux/client";
import { clientOfA } from "./sidecars";

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("InvMux Node client: error reasons", () => {
  const live = clientOfA();

  test("an unknown peer is PEER_UNKNOWN naming the peer", async () => {
    const { a } = live();
    await assert.rejects(a.openStream("no-such-peer", "echo"), (e: InvMuxError) => {
      assert.ok(e instanceof InvMuxError);
      assert.equal(e.code, status.NOT_FOUND);
      assert.equal(e.reason, "PEER_UNKNOWN");
      assert.equal(e.metadata.peer, "no-such-peer");
      assert.equal(e.retryDelayMs, undefined);
      return true;
    });
  });

  test("bad arguments name their field", async () => {
    const { sc, a } = live();
    const fieldOf = (field: string) => (e: InvMuxError) => {
      assert.equal(e.reason, "INVALID_ARGUMENT");
      assert.equal(e.field, field);
      return true;
    };
    await assert.rejects(a.openStream(sc.peer, ""), fieldOf("open.service"));
    await assert.rejects(a.acceptStream("bad service!"), fieldOf("accept.service"));
    await assert.rejects((async () => {
      for await (const _ of a.watchHealth({ qualityIntervalMs: 1 })) {
        break;
      }
    })(), fieldOf("quality_interval"));
    await assert.rejects(a.dialLink("no/slash", "tcp://127.0.0.1:1"), fieldOf("peer"));
  });

  test("an unknown session is SESSION_UNKNOWN", async () => {
    const { a } = live();
    await assert.rejects(a.removeLink("0123456789abcdef0123456789abcdef", "1"), (e: InvMuxError) => {
      assert.equal(e.reason, "SESSION_UNKNOWN");
      assert.equal(e.metadata.session_id, "0123456789abcdef0123456789abcdef");
      return true;
    });
  });

  test("a dial to a closed port is LINK_FAILED with a retry delay", async () => {
    const { a } = live();
    const port = await closedPort();
    await assert.rejects(a.dialLink("node-errors-closed", `tcp://127.0.0.1:${port}`), (e: InvMuxError) => {
      assert.equal(e.code, status.UNAVAILABLE);
      assert.equal(e.reason, "LINK_FAILED");
      assert.ok(e.retryDelayMs !== undefined && e.retryDelayMs > 0, `retry delay ${e.retryDelayMs}`);
      return true;
    });
  });
});
