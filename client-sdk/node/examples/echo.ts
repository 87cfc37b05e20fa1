// A small InvMux app for demos and the cross-language tests.
//
//   node dist/examples/echo.js open --peer pod-b --service echo --bytes 16777216   # send N bytes, read the echo
//   node dist/examples/echo.js accept --service echo                              # accept one stream, echo it
//
// Prints one line, "RESULT role=open bytes=N sent_sha256=H echo_sha256=H" resp. "RESULT role=accept bytes=N
// sha256=H", and exits 1 when anything failed (open: also when the echo differs). The sidecar is
// $INVMUX_GRPC_ENDPOINT (token $INVMUX_API_TOKEN).
import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { Client } from "@invmux/client";

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      peer: { type: "string", default: "pod-b" },
      service: { type: "string", default: "echo" },
      bytes: { type: "string", default: String(16 << 20) },
      timeout: { type: "string", default: "60" },
    },
  });
  const mode = positionals[0];
  const client = new Client();
  try {
    await client.waitForSidecar(Number(values.timeout) * 1000);
    if (mode === "accept") {
      const s = await client.acceptStream(values.service!);
      const h = createHash("sha256");
      let n = 0;
      for await (const chunk of s) {
        h.update(chunk as Buffer);
        n += (chunk as Buffer).length;
        if (!s.write(chunk)) {
          await new Promise((r) => s.once("drain", r));
        }
      }
      await s.closeWrite();
      await s.close(); // lets the call end, so the echo's tail reaches the sidecar before the process exits
      console.log(`RESULT role=accept bytes=${n} sha256=${h.digest("hex")} peer=${s.info.peer} service=${s.info.service}`);
      return 0;
    }
    if (mode === "open") {
      const size = Number(values.bytes);
      const s = await client.openStream(values.peer!, values.service!, { lang: "node" });
      const sent = createHash("sha256");
      const writing = (async () => {
        for (let off = 0; off < size; off += 1 << 20) {
          const block = randomBytes(Math.min(1 << 20, size - off));
          sent.update(block);
          if (!s.write(block)) {
            await new Promise((r) => s.once("drain", r));
          }
        }
        await s.closeWrite();
      })();
      const echo = createHash("sha256");
      let n = 0;
      for await (const chunk of s) {
        echo.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      await writing;
      await s.close();
      const [sh, eh] = [sent.digest("hex"), echo.digest("hex")];
      console.log(`RESULT role=open bytes=${n} sent_sha256=${sh} echo_sha256=${eh}`);
      return n === size && sh === eh ? 0 : 1;
    }
    console.error("usage: echo.js open|accept [--peer P] [--service S] [--bytes N]");
    return 2;
  } finally {
    client.close();
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`echo.js: ${e?.message ?? e}`);
  process.exit(1);
});
