"""Errors of the InvMux client."""

from __future__ import annotations

import grpc


class InvMuxError(Exception):
    """A call to the sidecar failed with a gRPC status.

    ``code`` is the :class:`grpc.StatusCode` (INVALID_ARGUMENT naming the field, NOT_FOUND for an unknown peer,
    session or link, UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED, UNAUTHENTICATED, ...) and ``details`` the
    sidecar's message.
    """

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details

    @classmethod
    def from_rpc(cls, e: grpc.RpcError) -> "InvMuxError":
        code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
        details = e.details() if hasattr(e, "details") else str(e)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "")


class StreamClosedError(InvMuxError):
    """The stream was closed by this application (``close()``) or its client was closed."""

    def __init__(self, details: str = "stream closed"):
        super().__init__(grpc.StatusCode.CANCELLED, details)
