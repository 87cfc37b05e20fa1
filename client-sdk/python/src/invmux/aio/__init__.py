"""The asyncio client of the InvMux sidecar, on ``grpc.aio``.

    from invmux import aio

    async def main():
        async with aio.Client() as client:     # $INVMUX_GRPC_ENDPOINT (default 127.0.0.1:7701), $INVMUX_API_TOKEN
            await client.wait_for_sidecar(timeout=30)
            async with client.open_stream("pod-b", "echo") as stream:
                await stream.write(b"hello")
                await stream.close_write()
                print(await stream.read())     # to the end of stream

Errors are the blocking client's: :class:`InvMuxError` with ``code``, ``reason`` and ``field``.
"""

from .._errors import IncompleteReadError, InvMuxError, StreamClosedError
from .._stream import MAX_WRITE_CHUNK, TrafficClass
from ._client import Client
from ._stream import Stream

__all__ = ["Client", "Stream", "InvMuxError", "StreamClosedError", "IncompleteReadError", "TrafficClass",
           "MAX_WRITE_CHUNK"]
