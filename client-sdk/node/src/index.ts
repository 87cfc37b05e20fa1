/**
 * Node.js / TypeScript client of the InvMux sidecar: streams to peers over the sidecar's bundle of links, link and
 * session management, and health, over the sidecar's gRPC API (invmux.v1; generated stubs in ./gen).
 */
import {
  Channel,
  ChannelCredentials,
  Client as GrpcClient,
  Metadata,
  credentials,
  status,
  type ChannelOptions,
  type ServiceError,
} from "@grpc/grpc-js";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import type { Link, Session } from "./gen/invmux/v1/common";
import { ConnectionServiceClient } from "./gen/invmux/v1/connection_service";
import { MonitorServiceClient, type GetStatsResponse, type WatchHealthResponse } from "./gen/invmux/v1/monitor_service";
import { StreamServiceClient, TrafficClass } from "./gen/invmux/v1/stream_service";
import { cancelCall } from "./calls";
import { AbortError, InvMuxError, toInvMuxError } from "./errors";
import { InvMuxStream } from "./stream";

export { AbortError, InvMuxError } from "./errors";
export { InvMuxStream, MAX_WRITE_CHUNK } from "./stream";
export { status } from "@grpc/grpc-js";
export * as v1 from "./v1";
export { LinkState, type Link, type Quality, type Session } from "./gen/invmux/v1/common";
export type { WatchHealthResponse, GetStatsResponse } from "./gen/invmux/v1/monitor_service";
export type { StreamInfo } from "./gen/invmux/v1/stream_service";
export { TrafficClass } from "./gen/invmux/v1/stream_service";

/** Sidecar API address used when neither the option nor $INVMUX_GRPC_ENDPOINT is set. */
export const DEFAULT_ENDPOINT = "127.0.0.1:7701";
export const ENV_ENDPOINT = "INVMUX_GRPC_ENDPOINT";
export const ENV_TOKEN = "INVMUX_API_TOKEN";

export interface ClientOptions {
  /** `host:port` or `unix:///path` (default: $INVMUX_GRPC_ENDPOINT, else 127.0.0.1:7701). */
  endpoint?: string;
  /** API token, sent as `authorization: Bearer <token>` (default: $INVMUX_API_TOKEN; "" sends none). */
  token?: string;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

/** What every call takes. */
export interface CallOptions {
  /**
   * Aborting it cancels the gRPC call, which then rejects (or throws) an {@link AbortError} whose `cause` is the
   * signal's reason; a signal aborted already starts no call.
   */
  signal?: AbortSignal;
}

export interface OpenStreamOptions extends CallOptions {
  /** Bounds the opening only (default: as long as it takes). */
  timeoutMs?: number;
  /** How the stream's chunks are scheduled over the links, both ways (default `TRAFFIC_CLASS_BULK`). */
  trafficClass?: TrafficClass;
}

export interface AcceptStreamOptions extends CallOptions {
  /** Bounds the waiting (default: as long as it takes). */
  timeoutMs?: number;
}

/** Handles one accepted stream for {@link Client.serve}; the stream is released once the promise settles. */
export type StreamHandler = (stream: InvMuxStream) => Promise<void> | void;

export interface ServeOptions {
  /** How many AcceptStream calls are kept outstanding (default 16). */
  concurrency?: number;
  /** Aborting it stops accepting; `serve` resolves once the handlers in flight have finished. */
  signal?: AbortSignal;
  /**
   * Hears a handler's rejection (its stream was aborted); default: `console.error`. What it throws is ignored.
   */
  onHandlerError?: (error: unknown, stream: InvMuxStream) => void;
}

export interface WatchHealthOptions extends CallOptions {
  /** Interval of quality samples of every link, in ms (at least 100; unset: no samples). */
  qualityIntervalMs?: number;
  /** Only this session. */
  sessionId?: string;
  /** Open the watch again (with backoff) when it breaks, e.g. when the sidecar restarts (default true). */
  resubscribe?: boolean;
}

const RETRYABLE = new Set<number>([
  status.UNAVAILABLE, status.CANCELLED, status.RESOURCE_EXHAUSTED, status.INTERNAL, status.UNKNOWN, status.ABORTED,
  status.DEADLINE_EXCEEDED,
]);
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const DEFAULT_SERVE_CONCURRENCY = 16;

// grpc.health.v1.Health/Check, encoded by hand: {string service = 1} -> {ServingStatus status = 1}
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const SERVING = 1;
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
function encodeHealthRequest(service: string): Buffer {
  const w = new BinaryWriter();
  if (service) {
    w.uint32(10).string(service);
  }
  return Buffer.from(w.finish());
}
function decodeHealthResponse(b: Buffer): number {
  const r = new BinaryReader(b);
  let st = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) {
      st = r.int32();
    } else {
      r.skip(tag & 7);
    }
  }
  return st;
}

/** Resolves after `ms`, or as soon as `signal` aborts (the caller checks which). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", wake);
      resolve();
    }, ms);
    signal?.addEventListener("abort", wake, { once: true });
  });
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new AbortError(`${what}: aborted`, signal.reason);
  }
}

/** A data message of OpenStream or AcceptStream. */
const dataFrame = (b: Buffer) => ({ frame: { $case: "data", value: b } });

/** A client of one InvMux sidecar. Call {@link close} when done. */
export class Client {
  readonly endpoint: string;
  /** Raw generated stubs, for calls this class does not wrap. */
  readonly streams: StreamServiceClient;
  readonly connections: ConnectionServiceClient;
  readonly monitor: MonitorServiceClient;
  private readonly health: GrpcClient;
  private readonly channel: Channel;
  private readonly token: string;
  private closed = false;

  constructor(options: ClientOptions = {}) {
    this.endpoint = options.endpoint || process.env[ENV_ENDPOINT] || DEFAULT_ENDPOINT;
    this.token = options.token ?? process.env[ENV_TOKEN] ?? "";
    const creds: ChannelCredentials = credentials.createInsecure();
    const channelOptions: ChannelOptions = {
      // a local sidecar that restarts should be found again quickly
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2000,
      ...options.channelOptions,
    };
    this.channel = new Channel(this.endpoint, creds, channelOptions);
    const shared = { channelOverride: this.channel };
    this.streams = new StreamServiceClient(this.endpoint, creds, shared);
    this.connections = new ConnectionServiceClient(this.endpoint, creds, shared);
    this.monitor = new MonitorServiceClient(this.endpoint, creds, shared);
    this.health = new GrpcClient(this.endpoint, creds, shared);
  }

  /** Closes the connection; open streams fail, and so does {@link serve}. */
  close(): void {
    this.closed = true;
    this.channel.close();
  }

  /** Per-call metadata: the API token. */
  private md(): Metadata {
    const m = new Metadata();
    if (this.token) {
      m.set("authorization", `Bearer ${this.token}`);
    }
    return m;
  }

  /**
   * Polls the sidecar's gRPC health service ("readiness") until it is SERVING: its listeners are bound and every
   * configured peer has a session. Rejects with an Error naming the endpoint and the last answer after
   * `timeoutMs`, with an {@link AbortError} when `options.signal` aborts.
   */
  async waitForSidecar(timeoutMs = 30_000, options: CallOptions = {}): Promise<void> {
    const { signal } = options;
    const what = `waiting for the InvMux sidecar at ${this.endpoint}`;
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    let last = "no answer yet";
    for (;;) {
      throwIfAborted(signal, what);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`InvMux sidecar at ${this.endpoint} not ready within ${timeoutMs} ms (last answer: ${last}); ` +
          `is the sidecar running, and is ${ENV_ENDPOINT} right?`);
      }
      try {
        const st = await this.unary<number>((cb) =>
          this.health.makeUnaryRequest(HEALTH_CHECK, encodeHealthRequest, decodeHealthResponse, "readiness",
            new Metadata(), { deadline: Date.now() + Math.min(1000, remaining) },
            (err: ServiceError | null, value?: number) => cb(err, value ?? 0)), signal, what);
        if (st === SERVING) {
          return;
        }
        last = `readiness ${SERVING_STATUS[st] ?? st}`;
      } catch (e) {
        if (e instanceof AbortError) {
          throw e;
        }
        const err = toInvMuxError(e);
        last = `${status[err.code]}: ${err.details}`;
      }
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())), signal);
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * Opens a stream to `service` of `peer` (a configured peer name or a session id), with optional metadata the
   * accepting application sees. Rejects with an {@link InvMuxError}: INVALID_ARGUMENT (naming the field),
   * NOT_FOUND (unknown peer), UNAVAILABLE. `timeoutMs` bounds the opening only; `trafficClass` (default
   * `TRAFFIC_CLASS_BULK`) says how its chunks are scheduled over the links, both ways, and the acceptor's
   * `info.trafficClass` says the same. `signal` covers the whole stream, as `fetch`'s covers the body: aborted
   * while opening, the promise rejects with an {@link AbortError}; aborted later, the stream is destroyed with one
   * (the peer sees a reset).
   */
  async openStream(peer: string, service: string, metadata: Record<string, string> = {},
    options: OpenStreamOptions = {}): Promise<InvMuxStream> {
    const what = `opening a stream to ${peer}/${service}`;
    throwIfAborted(options.signal, what);
    const call = this.streams.openStream(this.md());
    const s = new InvMuxStream(call, "opened", dataFrame);
    const trafficClass = options.trafficClass ?? TrafficClass.TRAFFIC_CLASS_BULK;
    call.write({ frame: { $case: "open", value: { peer, service, metadata, trafficClass } } });
    return opening(s, what, options, true);
  }

  /**
   * Waits for the next stream a peer opens to `service`. Start it before the peer opens, or within the sidecar's
   * pending timeout (10 s by default); keep several outstanding to accept several streams at once. `timeoutMs`
   * bounds the waiting (default: as long as it takes). `signal` covers the whole stream, as for
   * {@link openStream}: aborted while waiting, the promise rejects with an {@link AbortError} and the sidecar
   * forgets this acceptor (the next stream goes to another one).
   */
  async acceptStream(service: string, options: AcceptStreamOptions = {}): Promise<InvMuxStream> {
    return this.accept(service, options, true);
  }

  /** AcceptStream; `signalCoversStream` false: the signal ends the waiting only. */
  private accept(service: string, options: AcceptStreamOptions, signalCoversStream: boolean): Promise<InvMuxStream> {
    const what = `accepting a stream for ${service}`;
    throwIfAborted(options.signal, what);
    const call = this.streams.acceptStream(this.md());
    const s = new InvMuxStream(call, "accepted", dataFrame);
    call.write({ frame: { $case: "accept", value: { service } } });
    return opening(s, what, options, signalCoversStream);
  }

  /**
   * Serves `service`: keeps `concurrency` (default 16) AcceptStream calls outstanding, replaces each one that
   * accepted a stream at once, and calls `handler(stream)` for every stream, any number at a time. When the handler
   * resolves, the stream is half-closed (if it was not) and closed ({@link InvMuxStream.close}); when it rejects,
   * the stream is destroyed (the peer sees a reset) and the error goes to `onHandlerError`. While a handler runs,
   * a stream error nobody listens to does not crash the process: the handler sees it through its reads and writes.
   *
   * Failures the next try may cure (UNAVAILABLE: the sidecar restarts or is not up yet; RESOURCE_EXHAUSTED, ...)
   * are retried with backoff (100 ms doubling to 5 s, or the sidecar's retry delay when longer). The others
   * (INVALID_ARGUMENT: a bad service name; UNAUTHENTICATED, ...) stop accepting and reject at once with the
   * {@link InvMuxError}, as does closing the client (CANCELLED); handlers in flight still run to their end. When
   * `signal` aborts, accepting stops (every call waiting is cancelled) and the promise resolves once the handlers
   * in flight have finished.
   */
  async serve(service: string, handler: StreamHandler, options: ServeOptions = {}): Promise<void> {
    const concurrency = options.concurrency ?? DEFAULT_SERVE_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`serve: concurrency must be an integer of at least 1, not ${concurrency}`);
    }
    if (typeof handler !== "function") {
      throw new TypeError(`serve: handler must be a function, not ${typeof handler}`);
    }
    const report = options.onHandlerError ?? ((error: unknown, s: InvMuxStream) =>
      console.error(`InvMux serve '${service}': the handler of stream ${s.info.streamId} (session ` +
        `${s.info.sessionId}) failed:`, error));
    // ends the accepting: the caller's signal or a failure
    const stop = new AbortController();
    const { signal } = options;
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) {
      stop.abort(signal.reason);
    }
    const handlers = new Set<Promise<void>>();
    let failure: InvMuxError | undefined;
    const acceptor = async () => {
      let delay = MIN_BACKOFF_MS;
      while (!stop.signal.aborted) {
        let s: InvMuxStream;
        try {
          s = await this.accept(service, { signal: stop.signal }, false);
        } catch (e) {
          if (stop.signal.aborted) {
            return;
          }
          const err = this.closed ? new InvMuxError(status.CANCELLED, `serving '${service}': the client was closed`)
            : toInvMuxError(e);
          if (this.closed || !RETRYABLE.has(err.code)) {
            failure ??= err;
            stop.abort(err);
            return;
          }
          await sleep(Math.max(delay, err.retryDelayMs ?? 0), stop.signal);
          delay = Math.min(delay * 2, MAX_BACKOFF_MS);
          continue;
        }
        delay = MIN_BACKOFF_MS;
        const h = runHandler(s, handler, report);
        handlers.add(h);
        void h.then(() => handlers.delete(h));
      }
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, acceptor));
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (failure) {
      throw failure;
    }
    while (handlers.size > 0) {
      await Promise.all(handlers);
    }
  }

  /**
   * The sidecar's health events: first a `snapshot` of every session and link, then `linkUp`, `linkDown`,
   * `stateChange`, `quality` and `session` events (`event.event?.$case` tells which). When the watch breaks
   * (the sidecar restarts, or this watcher fell too far behind) it is opened again with backoff (100 ms doubling
   * to 5 s) and resumes after the last event yielded (its `epoch` and `sequence`): the sidecar replays the events
   * missed, or starts with a `snapshot` whose `resyncReason` says why it cannot (the events expired, or the sidecar
   * restarted); while the sidecar is unreachable the watch waits for it. Errors
   * another try would not cure (INVALID_ARGUMENT,
   * UNAUTHENTICATED, ...) are thrown as {@link InvMuxError}. Events are received as fast as they are consumed;
   * `break` ends the call, and so does aborting `options.signal`, after which the iteration throws an
   * {@link AbortError}.
   */
  async *watchHealth(options: WatchHealthOptions = {}): AsyncGenerator<WatchHealthResponse, void, undefined> {
    const ms = options.qualityIntervalMs ?? 0;
    const request = {
      qualityInterval: ms > 0 ? { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } : undefined,
      sessionId: options.sessionId ?? "",
      resumeEpoch: "",
      resumeAfterSequence: 0,
    };
    const resubscribe = options.resubscribe ?? true;
    const { signal } = options;
    const what = "watching health";
    let delay = MIN_BACKOFF_MS;
    for (;;) {
      throwIfAborted(signal, what);
      // wait-for-ready: a watch opened while the sidecar is down (or restarting) starts once it is back
      const md = this.md();
      md.setOptions({ waitForReady: true });
      const call = this.monitor.watchHealth(request, md);
      call.on("error", () => undefined); // reported through the iteration
      const cancel = () => cancelCall(call);
      signal?.addEventListener("abort", cancel, { once: true });
      let error: InvMuxError | undefined;
      try {
        for await (const event of call) {
          if (signal?.aborted) {
            break; // events received before the abort are not handed out after it
          }
          const ev = event as WatchHealthResponse;
          delay = MIN_BACKOFF_MS; // the sidecar answers again
          if (ev.sequence > 0 || ev.event?.$case === "snapshot") { // quality samples are not numbered
            request.resumeEpoch = ev.epoch;
            request.resumeAfterSequence = ev.sequence;
          }
          yield ev;
        }
      } catch (e) {
        error = toInvMuxError(e);
      } finally {
        signal?.removeEventListener("abort", cancel);
        call.cancel();
      }
      throwIfAborted(signal, what);
      if (error && (!resubscribe || !RETRYABLE.has(error.code))) {
        throw error;
      }
      if (!resubscribe) {
        return;
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  }

  /** Counters of every session and link now. */
  getStats(options: CallOptions = {}): Promise<GetStatsResponse> {
    return this.unary((cb) => this.monitor.getStats({}, this.md(), cb), options.signal, "getting the stats");
  }

  /** Dials one more link (e.g. `tcp://10.0.2.2:7700`) to `peer`; creates the session with it if there is none. */
  async dialLink(peer: string, address: string, priority = 0, weight = 0, options: CallOptions = {}): Promise<Link> {
    const r = await this.unary<{ link?: Link }>((cb) =>
      this.connections.dialLink({ peer, address, priority, weight }, this.md(), cb), options.signal,
    `dialing ${address} to ${peer}`);
    return r.link!;
  }

  /** Every link (of one session, when given), all pages. */
  async listLinks(sessionId = "", options: CallOptions = {}): Promise<Link[]> {
    const links: Link[] = [];
    let pageToken = "";
    do {
      const r = await this.unary<{ links: Link[]; nextPageToken: string }>((cb) =>
        this.connections.listLinks({ sessionId, pageSize: 1000, pageToken }, this.md(), cb), options.signal,
      "listing links");
      links.push(...r.links);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return links;
  }

  /** Removes a link gracefully (its chunks in flight are delivered first). */
  async removeLink(sessionId: string, linkId: string, options: CallOptions = {}): Promise<void> {
    await this.unary((cb) => this.connections.deleteLink({ sessionId, linkId }, this.md(), cb), options.signal,
      `removing link ${linkId} of session ${sessionId}`);
  }

  /** Every session, all pages. */
  async listSessions(options: CallOptions = {}): Promise<Session[]> {
    const sessions: Session[] = [];
    let pageToken = "";
    do {
      const r = await this.unary<{ sessions: Session[]; nextPageToken: string }>((cb) =>
        this.connections.listSessions({ pageSize: 1000, pageToken }, this.md(), cb), options.signal,
      "listing sessions");
      sessions.push(...r.sessions);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return sessions;
  }

  /** One unary call; aborting `signal` cancels it and rejects with an AbortError. */
  private unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => { cancel(): void },
    signal: AbortSignal | undefined, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      throwIfAborted(signal, what);
      const onAbort = () => {
        cancelCall(call);
        reject(new AbortError(`${what}: aborted`, signal?.reason));
      };
      const call = start((err, res) => {
        signal?.removeEventListener("abort", onAbort);
        if (err) {
          reject(toInvMuxError(err));
        } else {
          resolve(res);
        }
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/**
 * Waits for the sidecar's first answer (opened/accepted) of `s`, within `options.timeoutMs`; an abort of
 * `options.signal` meanwhile destroys the stream and rejects with an AbortError. With `signalCoversStream`, a later
 * abort destroys the stream with one.
 */
function opening(s: InvMuxStream, what: string, options: { timeoutMs?: number; signal?: AbortSignal },
  signalCoversStream: boolean): Promise<InvMuxStream> {
  const { timeoutMs, signal } = options;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (): boolean => {
      if (settled) {
        return false;
      }
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = () => {
      if (settle()) {
        s.destroy();
        reject(new AbortError(`${what}: aborted`, signal?.reason));
      }
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        if (settle()) {
          s.destroy();
          reject(new InvMuxError(status.DEADLINE_EXCEEDED, `${what}: no answer within ${timeoutMs} ms`));
        }
      }, timeoutMs);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    s.ready.then((opened) => {
      if (!settle()) {
        return;
      }
      if (signal && signalCoversStream) {
        const abortStream = () => opened.destroy(new AbortError(`stream ${opened.info.streamId}: aborted`,
          signal.reason));
        signal.addEventListener("abort", abortStream, { once: true });
        opened.once("close", () => signal.removeEventListener("abort", abortStream));
      }
      resolve(opened);
    }, (e: unknown) => {
      if (settle()) {
        reject(e);
      }
    });
  });
}

/**
 * Runs `handler` on one stream for serve: releases the stream when it resolves, destroys it when it rejects.
 * Resolves in both cases.
 */
async function runHandler(s: InvMuxStream, handler: StreamHandler,
  report: (error: unknown, stream: InvMuxStream) => void): Promise<void> {
  const ignore = () => undefined;
  s.on("error", ignore); // the handler sees errors through its reads and writes; nobody else listens
  try {
    await handler(s);
  } catch (e) {
    s.destroy(e instanceof Error ? e : new Error(String(e)));
    try {
      report(e, s);
    } catch {
      // a failing reporter must not stop the serving
    }
    return;
  }
  try {
    if (!s.destroyed && !s.writableEnded) {
      await s.closeWrite();
    }
    await s.close();
  } catch {
    s.destroy(); // the stream failed meanwhile: nothing left to release gracefully
  }
}
