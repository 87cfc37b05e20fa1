import { Metadata, status } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details";
import { Status } from "./gen/google/rpc/status";

/** The ErrorInfo domain of the sidecar's reasons. */
export const ERROR_DOMAIN = "invmux.io";
/** The trailer a google.rpc.Status travels in. */
const DETAILS_TRAILER = "grpc-status-details-bin";

/**
 * A call to the sidecar failed with a gRPC status: `code` is a grpc-js `status` value (INVALID_ARGUMENT naming the
 * field, NOT_FOUND for an unknown peer/session/link, UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED,
 * UNAUTHENTICATED, ...), `details` the sidecar's message.
 *
 * Branch on `reason`, not on the message: the sidecar's stable reason (`invmux.v1.ErrorReason` without its prefix:
 * `PEER_UNKNOWN`, `SESSION_UNKNOWN`, `SERVICE_NOT_ACCEPTED`, `LIMIT_STREAMS_PER_CLIENT`, `INVALID_ARGUMENT`, ...),
 * read from the google.rpc.Status in the call's `grpc-status-details-bin` trailer; `field` names the request field
 * at fault, `metadata` holds the rest of the ErrorInfo (`peer`, `session_id`, `bound`, ...) and `retryDelayMs`
 * says when retrying can succeed. Failures made on this side have an empty reason.
 */
export class InvMuxError extends Error {
  readonly code: status;
  readonly details: string;
  readonly reason: string;
  readonly field: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Milliseconds to wait before retrying, when the sidecar says retrying can succeed. */
  readonly retryDelayMs: number | undefined;

  constructor(code: status, details: string, info: ErrorDetails = NO_DETAILS) {
    super(`${status[code] ?? code}: ${details}`);
    this.name = "InvMuxError";
    this.code = code;
    this.details = details;
    this.reason = info.reason;
    this.field = info.field;
    this.metadata = info.metadata;
    this.retryDelayMs = info.retryDelayMs;
  }
}

/**
 * A call ended because its `AbortSignal` was aborted: `name` is `"AbortError"` and `code` `"ABORT_ERR"`, as for
 * `fetch` and Node's own APIs, and `cause` is the signal's reason (`signal.reason`). The gRPC call was cancelled.
 */
export class AbortError extends Error {
  readonly code = "ABORT_ERR";

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "AbortError";
  }
}

/** What a google.rpc.Status's details say. */
export interface ErrorDetails {
  reason: string;
  field: string;
  metadata: Record<string, string>;
  retryDelayMs: number | undefined;
}

const NO_DETAILS: ErrorDetails = Object.freeze({ reason: "", field: "", metadata: {}, retryDelayMs: undefined });

/** The details in a call's trailers; details of other domains or types, or that cannot be read, are skipped. */
export function errorDetails(trailers: Metadata | undefined): ErrorDetails {
  const raw = trailers?.get(DETAILS_TRAILER)[0];
  if (!(raw instanceof Buffer)) {
    return NO_DETAILS;
  }
  const d: ErrorDetails = { reason: "", field: "", metadata: {}, retryDelayMs: undefined };
  let s: Status;
  try {
    s = Status.decode(raw);
  } catch {
    return NO_DETAILS;
  }
  for (const any of s.details) {
    const type = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
    try {
      if (type === "google.rpc.ErrorInfo") {
        const info = ErrorInfo.decode(any.value);
        if (info.domain === ERROR_DOMAIN) {
          d.reason = info.reason;
          d.metadata = { ...info.metadata };
          d.field = info.metadata.field ?? d.field;
        }
      } else if (type === "google.rpc.BadRequest") {
        const bad = BadRequest.decode(any.value);
        if (!d.field && bad.fieldViolations.length > 0) {
          d.field = bad.fieldViolations[0].field;
        }
      } else if (type === "google.rpc.RetryInfo") {
        const delay = RetryInfo.decode(any.value).retryDelay;
        d.retryDelayMs = delay ? delay.seconds * 1000 + Math.floor(delay.nanos / 1e6) : 0;
      }
    } catch {
      // a detail this client cannot read tells it nothing; the status code still stands
    }
  }
  return d;
}

/** Maps a grpc-js ServiceError (or anything thrown) to an InvMuxError. */
export function toInvMuxError(e: unknown): InvMuxError {
  if (e instanceof InvMuxError) {
    return e;
  }
  const se = e as { code?: unknown; details?: unknown; message?: unknown; metadata?: unknown };
  if (typeof se?.code === "number") {
    const trailers = se.metadata instanceof Metadata ? se.metadata : undefined;
    return new InvMuxError(se.code as status, String(se.details ?? se.message ?? ""), errorDetails(trailers));
  }
  return new InvMuxError(status.UNKNOWN, String(se?.message ?? e));
}
