// The package's two entry points (package.json "exports"): `import` loads dist/esm, `require` dist/cjs. Both must
// expose the same names and the very same objects, so code mixing them never holds two copies of a class.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as esm from "@invmux/client";
import { Client, InvMuxError, status, v1 } from "@invmux/client";

const require = createRequire(import.meta.url);
const cjs = require("@invmux/client") as typeof esm;

test("import resolves to the ESM entry and require to the CommonJS build", () => {
  assert.match(import.meta.resolve("@invmux/client"), /\/dist\/esm\/index\.mjs$/);
  assert.match(require.resolve("@invmux/client"), /[\\/]dist[\\/]cjs[\\/]index\.js$/);
});

test("import and require expose the same names", () => {
  const names = (m: object) => Object.keys(m).filter((n) => n !== "__esModule" && n !== "default").sort();
  assert.deepEqual(names(esm), names(cjs));
  assert.ok(names(esm).includes("Client"));
});

test("import and require load one copy of each class", () => {
  assert.equal(Client, cjs.Client);
  assert.equal(InvMuxError, cjs.InvMuxError);
  assert.equal(v1.stream.StreamServiceClient, cjs.v1.stream.StreamServiceClient);
  const e = new cjs.InvMuxError(status.NOT_FOUND, "no peer 'x'");
  assert.ok(e instanceof InvMuxError);
  assert.equal(e.code, status.NOT_FOUND);
});
