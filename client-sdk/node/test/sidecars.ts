// Live-test fixture: two real sidecar processes, pod-a (apps open streams to peer "pod-b" there) and pod-b (apps
// accept them there). Endpoints come from $INVMUX_A_ENDPOINT / $INVMUX_B_ENDPOINT (as written by
// client-sdk/testing/sidecars.sh); when those are not set, a pair is started with that script ($INVMUX_SIDECARS_SH,
// default: the one of this checkout).
import { after, before } from "node:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@invmux/client";

export interface Sidecars {
  a: string;
  b: string;
  peer: string;
  stop(): void;
}

const SCRIPT = process.env.INVMUX_SIDECARS_SH || resolve(__dirname, "../../../testing/sidecars.sh");

export function sidecars(): Sidecars {
  const peer = process.env.INVMUX_PEER || "pod-b";
  const a = process.env.INVMUX_A_ENDPOINT;
  const b = process.env.INVMUX_B_ENDPOINT;
  if (a && b) {
    return { a, b, peer, stop: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), "invmux-node-live-"));
  execFileSync(SCRIPT, ["start", dir], { stdio: ["ignore", "inherit", "inherit"] });
  const env = Object.fromEntries(readFileSync(join(dir, "sidecars.env"), "utf8").split("\n")
    .filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  return {
    a: env.INVMUX_A_ENDPOINT, b: env.INVMUX_B_ENDPOINT, peer,
    stop: () => {
      execFileSync(SCRIPT, ["stop", dir], { stdio: ["ignore", "inherit", "inherit"] });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For a suite that needs both sidecars: starts them (or finds them) and a ready client of each before the suite,
 * closes all after it. The returned function gives them once the suite runs.
 */
export function clientsOfBoth(): () => { sc: Sidecars; a: Client; b: Client } {
  let sc: Sidecars | undefined;
  let a: Client | undefined;
  let b: Client | undefined;
  before(async () => {
    sc = sidecars();
    a = new Client({ endpoint: sc.a });
    b = new Client({ endpoint: sc.b });
    await a.waitForSidecar(30_000);
    await b.waitForSidecar(30_000);
  });
  after(() => {
    a?.close();
    b?.close();
    sc?.stop();
  });
  return () => ({ sc: sc!, a: a!, b: b! });
}

/**
 * For a suite that needs only pod-a: starts the sidecars (or finds them) and a ready client of pod-a before the
 * suite, closes both after it. The returned function gives them once the suite runs.
 */
export function clientOfA(): () => { sc: Sidecars; a: Client } {
  let sc: Sidecars | undefined;
  let a: Client | undefined;
  before(async () => {
    sc = sidecars();
    a = new Client({ endpoint: sc.a });
    await a.waitForSidecar(30_000);
  });
  after(() => {
    a?.close();
    sc?.stop();
  });
  return () => ({ sc: sc!, a: a! });
}
