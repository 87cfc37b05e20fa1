import { status } from "@grpc/grpc-js";

/**
 * A call to the sidecar failed with a gRPC status: `code` is a grpc-js `status` value (INVALID_ARGUMENT naming the
 * field, NOT_FOUND for an unknown peer/session/link, UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED,
 * UNAUTHENTICATED, ...), `details` the sidecar's message.
 */
export class InvMuxError extends Error {
  readonly code: status;
  readonly details: string;

  constructor(code: status, details: string) {
    super(`${status[code] ?? code}: ${details}`);
    this.name = "InvMuxError";
    this.code = code;
    this.details = details;
  }
}

/** Maps a grpc-js ServiceError (or anything thrown) to an InvMuxError. */
export function toInvMuxError(e: unknown): InvMuxError {
  if (e instanceof InvMuxError) {
    return e;
  }
  const se = e as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof se?.code === "number") {
    return new InvMuxError(se.code as status, String(se.details ?? se.message ?? ""));
  }
  return new InvMuxError(status.UNKNOWN, String(se?.message ?? e));
}
