// A small InvMux app for demos and the cross-language tests.
//
//   node dist/examples/echo.js open --peer pod-b --service echo --bytes 16777216   # send N bytes, read the echo
//   node dist/examples/echo.js accept --service echo                              # accept one stream, echo it
//
// Prints one line, "RESULT role=open bytes=N sent_sha256=H echo_sha256=H" resp. "RESULT role=accept bytes=N
// sha256=H", and exits 1 when anything failed (open: also when the echo differs). The sidecar is
// $INVMUX_GRPC_ENDPOINT (token $INVMUX_API_TOKEN). Its two ends, echoBack and sendAndReadEcho, are exported for
// the live tests.
import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { Client, type InvMuxStream } from "@invmux/client";

const BLOCK = 1 << 20;

/** Writes `chunk`, waiting for 'drain' when the stream asks to. */
export async function write(s: InvMuxStream, chunk: Buffer): Promise<void> {
  if (!s.write(chunk)) {
    await new Promise((resolve) => s.once("drain", resolve));
  }
}

/** The acceptor's end: writes back everything it reads, then half-closes. */
export async function echoBack(s: InvMuxStream): Promise<{ bytes: number; sha256: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of s) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    await write(s, chunk as Buffer);
  }
  await s.closeWrite();
  return { bytes, sha256: h.digest("hex") };
}

/**
 * The opener's end: sends `size` random bytes (then half-closes) while reading the echo, which would otherwise
 * stall both sides on full windows; closes the stream.
 */
export async function sendAndReadEcho(s: InvMuxStream, size: number):
  Promise<{ bytes: number; sentSha256: string; echoSha256: string }> {
  const sent = createHash("sha256");
  const writing = (async () => {
    for (let off = 0; off < size; off += BLOCK) {
      const block = randomBytes(Math.min(BLOCK, size - off));
      sent.update(block);
      await write(s, block);
    }
    await s.closeWrite();
  })();
  const echo = createHash("sha256");
  let bytes = 0;
  for await (const chunk of s) {
    echo.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  await writing;
  await s.close();
  return { bytes, sentSha256: sent.digest("hex"), echoSha256: echo.digest("hex") };
}

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
      const { bytes, sha256 } = await echoBack(s);
      await s.close(); // lets the call end, so the echo's tail reaches the sidecar before the process exits
      console.log(`RESULT role=accept bytes=${bytes} sha256=${sha256} peer=${s.info.peer} service=${s.info.service}`);
      return 0;
    }
    if (mode === "open") {
      const size = Number(values.bytes);
      const s = await client.openStream(values.peer!, values.service!, { lang: "node" });
      const { bytes, sentSha256, echoSha256 } = await sendAndReadEcho(s, size);
      console.log(`RESULT role=open bytes=${bytes} sent_sha256=${sentSha256} echo_sha256=${echoSha256}`);
      return bytes === size && sentSha256 === echoSha256 ? 0 : 1;
    }
    console.error("usage: echo.js open|accept [--peer P] [--service S] [--bytes N]");
    return 2;
  } finally {
    client.close();
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code), (e) => {
    console.error(`echo.js: ${e?.message ?? e}`);
    process.exit(1);
  });
}
