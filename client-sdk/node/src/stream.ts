import { Duplex } from "node:stream";
import { status, type ClientDuplexStream } from "@grpc/grpc-js";
import type { StreamInfo } from "./gen/invmux/v1/stream_service";
import { cancelCall } from "./calls";
import { InvMuxError, toInvMuxError } from "./errors";

/** Largest data message a stream sends; longer writes are cut (the API takes at most 256 KiB). */
export const MAX_WRITE_CHUNK = 64 * 1024;
/** How long a graceful end lets the call finish, so that everything written reaches the sidecar. */
const CLOSE_GRACE_MS = 5000;

/** How long an abort waits for its reset message to be taken by gRPC before it cancels the call anyway. */
const RESET_GRACE_MS = 1000;
/** The request that aborts a stream (OpenStreamRequest.reset, AcceptStreamRequest.reset: the same shape). */
const RESET_FRAME = { frame: { $case: "reset", value: true } };

type Frame = { $case: string; value: unknown } | undefined;
type AnyCall = ClientDuplexStream<any, { frame: Frame }>;

/**
 * One byte stream to a peer's application, carried by the sidecars over their bundle of links: a Node
 * `Duplex` of Buffers (and so an async iterable of chunks).
 *
 * - `write(buf)` sends bytes; it respects back-pressure (`write()` returns false, then `'drain'`), and each
 *   message goes out only once gRPC flow control took the previous one.
 * - `end()` half-closes: the peer reads the end of stream; reading goes on.
 * - reading yields the peer's bytes and ends (`'end'`, or the end of `for await`) when the peer half-closed.
 *   Messages are taken from the sidecar only as the stream is read. Unlike a plain Duplex, `for await` does not
 *   destroy the stream when it ends (writing may go on after the peer's end of stream) nor on `break`: call
 *   `destroy()` to abort.
 * - `destroy()` aborts (the peer sees a reset); once both directions ended the stream closes by itself and lets
 *   the call finish.
 *
 * Errors are {@link InvMuxError}s with the gRPC status `code` (UNAVAILABLE: peer or session lost; CANCELLED:
 * reset by the peer; ...), emitted as `'error'`.
 */
export class InvMuxStream extends Duplex {
  /** Session, stream id, peer, service and the opener's metadata; set once opened/accepted. */
  info!: StreamInfo;
  /** Resolves with the stream once the sidecar answered `opened`/`accepted`; rejects with the call's error. */
  readonly ready: Promise<InvMuxStream>;

  private readonly call: AnyCall;
  private readonly firstCase: string;
  private readonly dataMessage: (b: Buffer) => unknown;
  private readEnded = false;
  private callDone = false;
  private resolveReady!: (s: InvMuxStream) => void;
  private rejectReady!: (e: Error) => void;

  /** @internal Use Client.openStream / Client.acceptStream. */
  constructor(call: AnyCall, firstCase: "opened" | "accepted", dataMessage: (b: Buffer) => unknown) {
    super({ allowHalfOpen: true, highWaterMark: MAX_WRITE_CHUNK, decodeStrings: true });
    this.call = call;
    this.firstCase = firstCase;
    this.dataMessage = dataMessage;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // a failed open is reported by the caller's await
    call.on("data", (msg: { frame: Frame }) => this.onMessage(msg));
    call.on("status", () => {
      this.callDone = true;
    });
    call.on("end", () => {
      this.callDone = true;
      if (!this.info) {
        this.rejectReady(new InvMuxError(2, "the call ended before its first message"));
        return;
      }
      this.endRead();
    });
    call.on("error", (e: Error) => {
      this.callDone = true;
      const err = toInvMuxError(e);
      if (!this.info) {
        this.rejectReady(err);
        this.destroy();
      } else if (!this.destroyed) {
        this.destroy(err);
      }
    });
  }

  private onMessage(msg: { frame: Frame }): void {
    const frame = msg.frame;
    if (!this.info) {
      if (frame?.$case === this.firstCase) {
        this.info = frame.value as StreamInfo;
        this.resolveReady(this);
      } else {
        this.rejectReady(new InvMuxError(13, `the sidecar's first message was not '${this.firstCase}'`));
        this.call.cancel();
      }
      return;
    }
    if (frame?.$case === "eof") {
      this.endRead(); // the peer's end of stream; the call goes on until end()
      return;
    }
    if (frame?.$case !== "data") {
      return;
    }
    const data = frame.value as Buffer;
    if (data.length === 0) {
      this.endRead(); // the peer's end of stream; the call goes on until end()
      return;
    }
    if (!this.push(data)) {
      this.call.pause();
    }
  }

  private endRead(): void {
    if (!this.readEnded) {
      this.readEnded = true;
      this.push(null);
    }
  }

  override _read(): void {
    this.call.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writePieces(chunk).then(() => callback(), callback);
  }

  private async writePieces(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; off += MAX_WRITE_CHUNK) {
      const piece = chunk.subarray(off, off + MAX_WRITE_CHUNK);
      await new Promise<void>((resolve, reject) => {
        this.call.write(this.dataMessage(piece), (err?: Error | null) => (err ? reject(toInvMuxError(err)) : resolve()));
      });
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.call.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.callDone) {
      callback(error);
      return;
    }
    if (!error && this.readEnded && this.writableFinished) {
      // both directions ended: let the sidecar end the call, so that everything written gets there
      const timer = setTimeout(() => this.call.cancel(), CLOSE_GRACE_MS).unref();
      this.call.once("status", () => clearTimeout(timer));
      this.call.resume();
      callback(null);
      return;
    }
    if (this.info && !this.call.writableEnded) {
      // Not a bare cancel: Node's http2 ends a cancelled call's request stream just before resetting it, and the
      // sidecar would pass that end on as the peer's end of stream, so the peer could take a cut-off stream for a
      // whole one. The reset message, handed to gRPC before the cancel, makes the sidecar reset it instead. A write
      // stuck behind flow control holds back that end as well, so the cancel then goes out without waiting long.
      const timer = setTimeout(() => cancelCall(this.call), RESET_GRACE_MS).unref();
      this.call.write(RESET_FRAME, () => {
        clearTimeout(timer);
        cancelCall(this.call);
      });
      callback(error);
      return;
    }
    cancelCall(this.call);
    callback(error);
  }

  /** Iterates the peer's chunks without destroying the stream at the end (see the class comment). */
  override [Symbol.asyncIterator](): AsyncIterableIterator<any> {
    return this.iterator({ destroyOnReturn: false });
  }

  /**
   * Half-closes and resolves once everything written was handed to gRPC; rejects when the stream fails or is
   * destroyed first (or was already).
   */
  closeWrite(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.writableFinished) {
        resolve();
        return;
      }
      const destroyed = () => reject(this.errored ?? new InvMuxError(status.CANCELLED,
        "the stream was destroyed before its end was written"));
      if (this.destroyed) {
        destroyed();
        return;
      }
      this.once("finish", () => {
        this.off("close", destroyed);
        resolve();
      });
      this.once("error", reject);
      this.once("close", destroyed); // a destroy without an error emits no 'error'
      this.end();
    });
  }

  /**
   * Releases the stream. After `end()`/`closeWrite()` and reading to the end, it first waits until the sidecar
   * ended the call (at most `graceMs`), so that everything written reached it; otherwise it aborts the stream
   * (the peer sees a reset), like `destroy()`.
   */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (!this.callDone && this.readEnded && this.writableFinished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.call.once("status", () => {
          clearTimeout(timer);
          resolve();
        });
        this.call.resume();
      });
    }
    this.destroy();
  }

  /** Reads until the peer half-closes; resolves with all the bytes. */
  async readAll(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this) {
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }
}
