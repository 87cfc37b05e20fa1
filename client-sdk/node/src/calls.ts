/**
 * Cancels a gRPC call. @grpc/grpc-js (1.14) starts a call's HTTP/2 stream a few microtasks after the call, in a
 * promise continuation that does not look whether the call was cancelled meanwhile: a cancel in that window would
 * be lost and the call would go out and stay (an AcceptStream aborted in the tick it began would remain a waiting
 * acceptor on the sidecar). Cancelling again once those microtasks ran reaches it; cancelling an ended call does
 * nothing.
 */
export function cancelCall(call: { cancel(): void }): void {
  call.cancel();
  setImmediate(() => call.cancel());
}
