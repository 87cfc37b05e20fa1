"""Which failed calls are tried again, and after how long: shared by the health watches and the serve loops."""

from __future__ import annotations

from typing import Optional

import grpc

from ._errors import InvMuxError

#: Codes another try can cure: the sidecar unreachable or restarting, a limit reached for now, a call cut.
RETRYABLE = frozenset({
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED,
})
#: The first delay before another try; it doubles up to MAX_BACKOFF_S while the tries fail.
MIN_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0


class Backoff:
    """The delays between the tries of one call: 0.1 s doubling to 5 s, or the sidecar's ``retry_delay`` when that
    is longer; :meth:`reset` once a try succeeded."""

    def __init__(self) -> None:
        self._delay = MIN_BACKOFF_S

    def reset(self) -> None:
        self._delay = MIN_BACKOFF_S

    def next(self, error: Optional[InvMuxError] = None) -> float:
        """Seconds to wait before the next try after ``error``."""
        asked = error.retry_delay.total_seconds() if error is not None and error.retry_delay else 0.0
        delay = max(self._delay, asked)
        self._delay = min(self._delay * 2, MAX_BACKOFF_S)
        return delay
