"""Errors of the InvMux client."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any, Mapping, Optional

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

#: The ErrorInfo domain of the sidecar's reasons.
DOMAIN = "invmux.io"


class InvMuxError(Exception):
    """A call to the sidecar failed with a gRPC status.

    ``code`` is the :class:`grpc.StatusCode` (INVALID_ARGUMENT naming the field, NOT_FOUND for an unknown peer,
    session or link, UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED, UNAUTHENTICATED, ...) and ``details`` the
    sidecar's message.

    Branch on ``reason``, not on the message: the sidecar's stable reason (``invmux.v1.ErrorReason`` without its
    prefix: ``PEER_UNKNOWN``, ``SESSION_UNKNOWN``, ``SERVICE_NOT_ACCEPTED``, ``LIMIT_STREAMS_PER_CLIENT``,
    ``INVALID_ARGUMENT``, ...), read from the ``google.rpc.Status`` in the call's trailers; ``field`` names the request
    field at fault, ``metadata`` holds the rest of the ErrorInfo (``peer``, ``session_id``, ``bound``, ...) and
    ``retry_delay`` (a :class:`datetime.timedelta`) says when retrying can succeed. Failures made on this side
    (closed by the application, sidecar unreachable) have an empty reason.
    """

    def __init__(self, code: grpc.StatusCode, details: str, reason: str = "", field: str = "",
                 metadata: Optional[Mapping[str, str]] = None,
                 retry_delay: Optional[datetime.timedelta] = None):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.reason = reason
        self.field = field
        self.metadata: Mapping[str, str] = dict(metadata or {})
        self.retry_delay = retry_delay

    @classmethod
    def from_rpc(cls, e: Any) -> "InvMuxError":
        """From a failed call: a :class:`grpc.RpcError` or a finished :class:`grpc.Call`."""
        code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
        details = e.details() if hasattr(e, "details") else str(e)
        reason, field, metadata, retry = "", "", {}, None
        status = None
        if hasattr(e, "trailing_metadata"):
            try:
                status = rpc_status.from_call(e)
            except ValueError:  # details that disagree with the call's own status say nothing reliable
                status = None
        for any_ in status.details if status is not None else ():
            info = error_details_pb2.ErrorInfo()
            bad = error_details_pb2.BadRequest()
            retry_info = error_details_pb2.RetryInfo()
            if any_.Unpack(info):
                if info.domain == DOMAIN:
                    reason, metadata = info.reason, dict(info.metadata)
                    field = metadata.get("field", field)
            elif any_.Unpack(bad):
                if not field and bad.field_violations:
                    field = bad.field_violations[0].field
            elif any_.Unpack(retry_info):
                retry = retry_info.retry_delay.ToTimedelta()
        return cls(code or grpc.StatusCode.UNKNOWN, details or "", reason, field, metadata, retry)


class StreamClosedError(InvMuxError):
    """The stream was closed by this application (``close()``) or its client was closed."""

    def __init__(self, details: str = "stream closed"):
        super().__init__(grpc.StatusCode.CANCELLED, details)


class IncompleteReadError(asyncio.IncompleteReadError):
    """``readexactly(n)`` met the end of stream first: ``partial`` holds the bytes read, ``expected`` is ``n``.

    An :class:`EOFError` (and :class:`asyncio.IncompleteReadError`), raised by the blocking and the asyncio stream.
    """

    def __init__(self, partial: bytes, expected: int):
        super().__init__(partial, expected)
        # the peer half-closed: no gRPC status is involved, so the message says what was read instead
        self.args = (f"the peer ended the stream after {len(partial)} of the {expected} bytes expected",)

    def __str__(self) -> str:
        return self.args[0]
