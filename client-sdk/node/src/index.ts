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
import { StreamServiceClient } from "./gen/invmux/v1/stream_service";
import { InvMuxError, toInvMuxError } from "./errors";
import { InvMuxStream } from "./stream";

export { InvMuxError } from "./errors";
export { InvMuxStream, MAX_WRITE_CHUNK } from "./stream";
export { status } from "@grpc/grpc-js";
export * as v1 from "./v1";
export { LinkState, type Link, type Quality, type Session } from "./gen/invmux/v1/common";
export type { WatchHealthResponse, GetStatsResponse } from "./gen/invmux/v1/monitor_service";
export type { StreamInfo } from "./gen/invmux/v1/stream_service";

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

export interface WatchHealthOptions {
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
const WATCH_MIN_BACKOFF_MS = 100;
const WATCH_MAX_BACKOFF_MS = 5000;

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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

  /** Closes the connection; open streams fail. */
  close(): void {
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
   * `timeoutMs`.
   */
  async waitForSidecar(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    let last = "no answer yet";
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`InvMux sidecar at ${this.endpoint} not ready within ${timeoutMs} ms (last answer: ${last}); ` +
          `is the sidecar running, and is ${ENV_ENDPOINT} right?`);
      }
      try {
        const st = await new Promise<number>((resolve, reject) => {
          this.health.makeUnaryRequest(HEALTH_CHECK, encodeHealthRequest, decodeHealthResponse, "readiness",
            new Metadata(), { deadline: Date.now() + Math.min(1000, remaining) },
            (err: ServiceError | null, value?: number) => (err ? reject(err) : resolve(value ?? 0)));
        });
        if (st === SERVING) {
          return;
        }
        last = `readiness ${SERVING_STATUS[st] ?? st}`;
      } catch (e) {
        const err = toInvMuxError(e);
        last = `${status[err.code]}: ${err.details}`;
      }
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())));
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * Opens a stream to `service` of `peer` (a configured peer name or a session id), with optional metadata the
   * accepting application sees. Rejects with an {@link InvMuxError}: INVALID_ARGUMENT (naming the field),
   * NOT_FOUND (unknown peer), UNAVAILABLE. `timeoutMs` bounds the opening only.
   */
  async openStream(peer: string, service: string, metadata: Record<string, string> = {},
    options: { timeoutMs?: number } = {}): Promise<InvMuxStream> {
    const call = this.streams.openStream(this.md());
    const s = new InvMuxStream(call, "opened", (b) => ({ frame: { $case: "data", value: b } }));
    call.write({ frame: { $case: "open", value: { peer, service, metadata } } });
    return withTimeout(s, options.timeoutMs, `opening a stream to ${peer}/${service}`);
  }

  /**
   * Waits for the next stream a peer opens to `service`. Start it before the peer opens, or within the sidecar's
   * pending timeout (10 s by default); keep several outstanding to accept several streams at once. `timeoutMs`
   * bounds the waiting (default: as long as it takes).
   */
  async acceptStream(service: string, options: { timeoutMs?: number } = {}): Promise<InvMuxStream> {
    const call = this.streams.acceptStream(this.md());
    const s = new InvMuxStream(call, "accepted", (b) => ({ frame: { $case: "data", value: b } }));
    call.write({ frame: { $case: "accept", value: { service } } });
    return withTimeout(s, options.timeoutMs, `accepting a stream for ${service}`);
  }

  /**
   * The sidecar's health events: first a `snapshot` of every session and link, then `linkUp`, `linkDown`,
   * `stateChange`, `quality` and `session` events (`event.event?.$case` tells which). When the watch breaks
   * (the sidecar restarts, or this watcher fell too far behind) it is opened again with backoff (100 ms doubling
   * to 5 s) and goes on with a fresh snapshot; while the sidecar is unreachable the watch waits for it. Errors
   * another try would not cure (INVALID_ARGUMENT,
   * UNAUTHENTICATED, ...) are thrown as {@link InvMuxError}. Events are received as fast as they are consumed;
   * `break` ends the call.
   */
  async *watchHealth(options: WatchHealthOptions = {}): AsyncGenerator<WatchHealthResponse, void, undefined> {
    const ms = options.qualityIntervalMs ?? 0;
    const request = {
      qualityInterval: ms > 0 ? { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } : undefined,
      sessionId: options.sessionId ?? "",
    };
    const resubscribe = options.resubscribe ?? true;
    let delay = WATCH_MIN_BACKOFF_MS;
    for (;;) {
      // wait-for-ready: a watch opened while the sidecar is down (or restarting) starts once it is back
      const md = this.md();
      md.setOptions({ waitForReady: true });
      const call = this.monitor.watchHealth(request, md);
      call.on("error", () => undefined); // reported through the iteration
      let error: InvMuxError | undefined;
      try {
        for await (const event of call) {
          if ((event as WatchHealthResponse).event?.$case === "snapshot") {
            delay = WATCH_MIN_BACKOFF_MS;
          }
          yield event as WatchHealthResponse;
        }
      } catch (e) {
        error = toInvMuxError(e);
      } finally {
        call.cancel();
      }
      if (error && (!resubscribe || !RETRYABLE.has(error.code))) {
        throw error;
      }
      if (!resubscribe) {
        return;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, WATCH_MAX_BACKOFF_MS);
    }
  }

  /** Counters of every session and link now. */
  getStats(): Promise<GetStatsResponse> {
    return this.unary((cb) => this.monitor.getStats({}, this.md(), cb));
  }

  /** Dials one more link (e.g. `tcp://10.0.2.2:7700`) to `peer`; creates the session with it if there is none. */
  async dialLink(peer: string, address: string, priority = 0, weight = 0): Promise<Link> {
    const r = await this.unary<{ link?: Link }>((cb) =>
      this.connections.dialLink({ peer, address, priority, weight }, this.md(), cb));
    return r.link!;
  }

  /** Every link (of one session, when given), all pages. */
  async listLinks(sessionId = ""): Promise<Link[]> {
    const links: Link[] = [];
    let pageToken = "";
    do {
      const r = await this.unary<{ links: Link[]; nextPageToken: string }>((cb) =>
        this.connections.listLinks({ sessionId, pageSize: 1000, pageToken }, this.md(), cb));
      links.push(...r.links);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return links;
  }

  /** Removes a link gracefully (its chunks in flight are delivered first). */
  async removeLink(sessionId: string, linkId: string): Promise<void> {
    await this.unary((cb) => this.connections.deleteLink({ sessionId, linkId }, this.md(), cb));
  }

  /** Every session, all pages. */
  async listSessions(): Promise<Session[]> {
    const sessions: Session[] = [];
    let pageToken = "";
    do {
      const r = await this.unary<{ sessions: Session[]; nextPageToken: string }>((cb) =>
        this.connections.listSessions({ pageSize: 1000, pageToken }, this.md(), cb));
      sessions.push(...r.sessions);
      pageToken = r.nextPageToken;
    } while (pageToken);
    return sessions;
  }

  private unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      start((err, res) => (err ? reject(toInvMuxError(err)) : resolve(res)));
    });
  }
}

async function withTimeout(s: InvMuxStream, timeoutMs: number | undefined, what: string): Promise<InvMuxStream> {
  if (timeoutMs === undefined) {
    return s.ready;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      s.destroy();
      reject(new InvMuxError(status.DEADLINE_EXCEEDED, `${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([s.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
