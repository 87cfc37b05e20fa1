from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenStreamRequest(_message.Message):
    __slots__ = ("open", "data")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    open: StreamTarget
    data: bytes
    def __init__(self, open: _Optional[_Union[StreamTarget, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class StreamTarget(_message.Message):
    __slots__ = ("peer", "service", "metadata", "compress")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PEER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    COMPRESS_FIELD_NUMBER: _ClassVar[int]
    peer: str
    service: str
    metadata: _containers.ScalarMap[str, str]
    compress: bool
    def __init__(self, peer: _Optional[str] = ..., service: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., compress: _Optional[bool] = ...) -> None: ...

class OpenStreamResponse(_message.Message):
    __slots__ = ("opened", "data", "eof")
    OPENED_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    opened: StreamInfo
    data: bytes
    eof: bool
    def __init__(self, opened: _Optional[_Union[StreamInfo, _Mapping]] = ..., data: _Optional[bytes] = ..., eof: _Optional[bool] = ...) -> None: ...

class StreamInfo(_message.Message):
    __slots__ = ("session_id", "stream_id", "peer", "service", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    stream_id: int
    peer: str
    service: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, session_id: _Optional[str] = ..., stream_id: _Optional[int] = ..., peer: _Optional[str] = ..., service: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AcceptStreamRequest(_message.Message):
    __slots__ = ("accept", "data")
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    accept: AcceptTarget
    data: bytes
    def __init__(self, accept: _Optional[_Union[AcceptTarget, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class AcceptTarget(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: str
    def __init__(self, service: _Optional[str] = ...) -> None: ...

class AcceptStreamResponse(_message.Message):
    __slots__ = ("accepted", "data", "eof")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    accepted: StreamInfo
    data: bytes
    eof: bool
    def __init__(self, accepted: _Optional[_Union[StreamInfo, _Mapping]] = ..., data: _Optional[bytes] = ..., eof: _Optional[bool] = ...) -> None: ...
