from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TrafficClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAFFIC_CLASS_UNSPECIFIED: _ClassVar[TrafficClass]
    TRAFFIC_CLASS_BULK: _ClassVar[TrafficClass]
    TRAFFIC_CLASS_INTERACTIVE: _ClassVar[TrafficClass]
    TRAFFIC_CLASS_REDUNDANT: _ClassVar[TrafficClass]
TRAFFIC_CLASS_UNSPECIFIED: TrafficClass
TRAFFIC_CLASS_BULK: TrafficClass
TRAFFIC_CLASS_INTERACTIVE: TrafficClass
TRAFFIC_CLASS_REDUNDANT: TrafficClass

class OpenStreamRequest(_message.Message):
    __slots__ = ("open", "data", "reset")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    open: StreamTarget
    data: bytes
    reset: bool
    def __init__(self, open: _Optional[_Union[StreamTarget, _Mapping]] = ..., data: _Optional[bytes] = ..., reset: _Optional[bool] = ...) -> None: ...

class StreamTarget(_message.Message):
    __slots__ = ("peer", "service", "metadata", "compress", "traffic_class")
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
    TRAFFIC_CLASS_FIELD_NUMBER: _ClassVar[int]
    peer: str
    service: str
    metadata: _containers.ScalarMap[str, str]
    compress: bool
    traffic_class: TrafficClass
    def __init__(self, peer: _Optional[str] = ..., service: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., compress: _Optional[bool] = ..., traffic_class: _Optional[_Union[TrafficClass, str]] = ...) -> None: ...

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
    __slots__ = ("session_id", "stream_id", "peer", "service", "metadata", "traffic_class")
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
    TRAFFIC_CLASS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    stream_id: int
    peer: str
    service: str
    metadata: _containers.ScalarMap[str, str]
    traffic_class: TrafficClass
    def __init__(self, session_id: _Optional[str] = ..., stream_id: _Optional[int] = ..., peer: _Optional[str] = ..., service: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., traffic_class: _Optional[_Union[TrafficClass, str]] = ...) -> None: ...

class AcceptStreamRequest(_message.Message):
    __slots__ = ("accept", "data", "reset")
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    accept: AcceptTarget
    data: bytes
    reset: bool
    def __init__(self, accept: _Optional[_Union[AcceptTarget, _Mapping]] = ..., data: _Optional[bytes] = ..., reset: _Optional[bool] = ...) -> None: ...

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
