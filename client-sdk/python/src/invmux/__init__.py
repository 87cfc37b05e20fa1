"""Python client of the InvMux sidecar.

    import invmux

    with invmux.Client() as client:          # $INVMUX_GRPC_ENDPOINT (default 127.0.0.1:7701), $INVMUX_API_TOKEN
        client.wait_for_sidecar(timeout=30)
        with client.open_stream("pod-b", "echo") as stream:
            stream.write(b"hello")
            stream.close_write()
            print(stream.read())             # to the end of stream

``client.serve(service, handler)`` runs a handler on every stream a service gets; :mod:`invmux.aio` is the asyncio
client. The generated protobuf/gRPC stubs of the API are in :mod:`invmux.v1`.
"""

from importlib import metadata as _metadata

from ._client import DEFAULT_ENDPOINT, ENV_ENDPOINT, ENV_TOKEN, Client
from ._errors import IncompleteReadError, InvMuxError, StreamClosedError
from ._serve import Server
from ._stream import MAX_WRITE_CHUNK, Stream, TrafficClass

__all__ = [
    "Client", "Stream", "Server", "InvMuxError", "StreamClosedError", "IncompleteReadError", "DEFAULT_ENDPOINT",
    "ENV_ENDPOINT", "ENV_TOKEN", "MAX_WRITE_CHUNK", "TrafficClass",
]
try:
    __version__ = _metadata.version("invmux")  # one place holds the version: pyproject.toml
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
