import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LinkState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINK_STATE_UNSPECIFIED: _ClassVar[LinkState]
    LINK_STATE_HEALTHY: _ClassVar[LinkState]
    LINK_STATE_DEGRADED: _ClassVar[LinkState]
    LINK_STATE_UNHEALTHY: _ClassVar[LinkState]
    LINK_STATE_PROBATION: _ClassVar[LinkState]
    LINK_STATE_DEAD: _ClassVar[LinkState]
LINK_STATE_UNSPECIFIED: LinkState
LINK_STATE_HEALTHY: LinkState
LINK_STATE_DEGRADED: LinkState
LINK_STATE_UNHEALTHY: LinkState
LINK_STATE_PROBATION: LinkState
LINK_STATE_DEAD: LinkState

class Quality(_message.Message):
    __slots__ = ("rtt", "rtt_variance", "bandwidth_bytes_per_second", "packet_loss", "error_rate", "score")
    RTT_FIELD_NUMBER: _ClassVar[int]
    RTT_VARIANCE_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    PACKET_LOSS_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    rtt: _duration_pb2.Duration
    rtt_variance: _duration_pb2.Duration
    bandwidth_bytes_per_second: int
    packet_loss: float
    error_rate: float
    score: float
    def __init__(self, rtt: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., rtt_variance: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., bandwidth_bytes_per_second: _Optional[int] = ..., packet_loss: _Optional[float] = ..., error_rate: _Optional[float] = ..., score: _Optional[float] = ...) -> None: ...

class Link(_message.Message):
    __slots__ = ("session_id", "link_id", "peer", "remote_address", "transport", "priority", "weight", "state", "quality", "bytes_sent", "bytes_received", "chunks_sent", "chunks_received", "chunks_reinjected", "queued_bytes")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_SENT_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_REINJECTED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BYTES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    link_id: str
    peer: str
    remote_address: str
    transport: str
    priority: int
    weight: float
    state: LinkState
    quality: Quality
    bytes_sent: int
    bytes_received: int
    chunks_sent: int
    chunks_received: int
    chunks_reinjected: int
    queued_bytes: int
    def __init__(self, session_id: _Optional[str] = ..., link_id: _Optional[str] = ..., peer: _Optional[str] = ..., remote_address: _Optional[str] = ..., transport: _Optional[str] = ..., priority: _Optional[int] = ..., weight: _Optional[float] = ..., state: _Optional[_Union[LinkState, str]] = ..., quality: _Optional[_Union[Quality, _Mapping]] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., chunks_sent: _Optional[int] = ..., chunks_received: _Optional[int] = ..., chunks_reinjected: _Optional[int] = ..., queued_bytes: _Optional[int] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "peer", "dialer", "links", "open_streams", "bytes_sent", "bytes_received", "chunks_resent", "duplicate_chunks", "reorder_high_water_mark", "refused_links", "compression")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    DIALER_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    OPEN_STREAMS_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_RESENT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    REORDER_HIGH_WATER_MARK_FIELD_NUMBER: _ClassVar[int]
    REFUSED_LINKS_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    peer: str
    dialer: bool
    links: _containers.RepeatedCompositeFieldContainer[Link]
    open_streams: int
    bytes_sent: int
    bytes_received: int
    chunks_resent: int
    duplicate_chunks: int
    reorder_high_water_mark: int
    refused_links: int
    compression: Compression
    def __init__(self, session_id: _Optional[str] = ..., peer: _Optional[str] = ..., dialer: _Optional[bool] = ..., links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ..., open_streams: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., chunks_resent: _Optional[int] = ..., duplicate_chunks: _Optional[int] = ..., reorder_high_water_mark: _Optional[int] = ..., refused_links: _Optional[int] = ..., compression: _Optional[_Union[Compression, _Mapping]] = ...) -> None: ...

class Compression(_message.Message):
    __slots__ = ("name", "bytes_in", "bytes_out", "ratio", "chunks_compressed", "chunks_raw", "compress_cpu", "received_bytes", "received_raw_bytes", "decompress_cpu", "path_compressing", "path_switches", "streams_sending_raw", "stream_switches_to_raw")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_COMPRESSED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_RAW_FIELD_NUMBER: _ClassVar[int]
    COMPRESS_CPU_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_RAW_BYTES_FIELD_NUMBER: _ClassVar[int]
    DECOMPRESS_CPU_FIELD_NUMBER: _ClassVar[int]
    PATH_COMPRESSING_FIELD_NUMBER: _ClassVar[int]
    PATH_SWITCHES_FIELD_NUMBER: _ClassVar[int]
    STREAMS_SENDING_RAW_FIELD_NUMBER: _ClassVar[int]
    STREAM_SWITCHES_TO_RAW_FIELD_NUMBER: _ClassVar[int]
    name: str
    bytes_in: int
    bytes_out: int
    ratio: float
    chunks_compressed: int
    chunks_raw: int
    compress_cpu: _duration_pb2.Duration
    received_bytes: int
    received_raw_bytes: int
    decompress_cpu: _duration_pb2.Duration
    path_compressing: bool
    path_switches: int
    streams_sending_raw: int
    stream_switches_to_raw: int
    def __init__(self, name: _Optional[str] = ..., bytes_in: _Optional[int] = ..., bytes_out: _Optional[int] = ..., ratio: _Optional[float] = ..., chunks_compressed: _Optional[int] = ..., chunks_raw: _Optional[int] = ..., compress_cpu: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., received_bytes: _Optional[int] = ..., received_raw_bytes: _Optional[int] = ..., decompress_cpu: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., path_compressing: _Optional[bool] = ..., path_switches: _Optional[int] = ..., streams_sending_raw: _Optional[int] = ..., stream_switches_to_raw: _Optional[int] = ...) -> None: ...
