import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from invmux.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResyncReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESYNC_REASON_UNSPECIFIED: _ClassVar[ResyncReason]
    RESYNC_REASON_EVENTS_EXPIRED: _ClassVar[ResyncReason]
    RESYNC_REASON_SIDECAR_RESTARTED: _ClassVar[ResyncReason]
RESYNC_REASON_UNSPECIFIED: ResyncReason
RESYNC_REASON_EVENTS_EXPIRED: ResyncReason
RESYNC_REASON_SIDECAR_RESTARTED: ResyncReason

class WatchHealthRequest(_message.Message):
    __slots__ = ("quality_interval", "session_id", "resume_epoch", "resume_after_sequence")
    QUALITY_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_EPOCH_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    quality_interval: _duration_pb2.Duration
    session_id: str
    resume_epoch: str
    resume_after_sequence: int
    def __init__(self, quality_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., session_id: _Optional[str] = ..., resume_epoch: _Optional[str] = ..., resume_after_sequence: _Optional[int] = ...) -> None: ...

class WatchHealthResponse(_message.Message):
    __slots__ = ("time", "snapshot", "link_up", "link_down", "state_change", "quality", "session", "sequence", "epoch")
    TIME_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LINK_UP_FIELD_NUMBER: _ClassVar[int]
    LINK_DOWN_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    snapshot: HealthSnapshot
    link_up: LinkUp
    link_down: LinkDown
    state_change: LinkStateChange
    quality: QualitySample
    session: SessionEvent
    sequence: int
    epoch: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., snapshot: _Optional[_Union[HealthSnapshot, _Mapping]] = ..., link_up: _Optional[_Union[LinkUp, _Mapping]] = ..., link_down: _Optional[_Union[LinkDown, _Mapping]] = ..., state_change: _Optional[_Union[LinkStateChange, _Mapping]] = ..., quality: _Optional[_Union[QualitySample, _Mapping]] = ..., session: _Optional[_Union[SessionEvent, _Mapping]] = ..., sequence: _Optional[int] = ..., epoch: _Optional[str] = ...) -> None: ...

class HealthSnapshot(_message.Message):
    __slots__ = ("sessions", "resync_reason", "missed_after_sequence")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    RESYNC_REASON_FIELD_NUMBER: _ClassVar[int]
    MISSED_AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Session]
    resync_reason: ResyncReason
    missed_after_sequence: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[_common_pb2.Session, _Mapping]]] = ..., resync_reason: _Optional[_Union[ResyncReason, str]] = ..., missed_after_sequence: _Optional[int] = ...) -> None: ...

class LinkUp(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: _common_pb2.Link
    def __init__(self, link: _Optional[_Union[_common_pb2.Link, _Mapping]] = ...) -> None: ...

class LinkDown(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: _common_pb2.Link
    def __init__(self, link: _Optional[_Union[_common_pb2.Link, _Mapping]] = ...) -> None: ...

class LinkStateChange(_message.Message):
    __slots__ = ("link", "previous")
    LINK_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    link: _common_pb2.Link
    previous: _common_pb2.LinkState
    def __init__(self, link: _Optional[_Union[_common_pb2.Link, _Mapping]] = ..., previous: _Optional[_Union[_common_pb2.LinkState, str]] = ...) -> None: ...

class QualitySample(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: _common_pb2.Link
    def __init__(self, link: _Optional[_Union[_common_pb2.Link, _Mapping]] = ...) -> None: ...

class SessionEvent(_message.Message):
    __slots__ = ("kind", "session", "reason")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[SessionEvent.Kind]
        KIND_STARTED: _ClassVar[SessionEvent.Kind]
        KIND_ENDED: _ClassVar[SessionEvent.Kind]
    KIND_UNSPECIFIED: SessionEvent.Kind
    KIND_STARTED: SessionEvent.Kind
    KIND_ENDED: SessionEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: SessionEvent.Kind
    session: _common_pb2.Session
    reason: str
    def __init__(self, kind: _Optional[_Union[SessionEvent.Kind, str]] = ..., session: _Optional[_Union[_common_pb2.Session, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("sessions", "forwarded_connections", "refused_links")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    FORWARDED_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_LINKS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Session]
    forwarded_connections: int
    refused_links: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[_common_pb2.Session, _Mapping]]] = ..., forwarded_connections: _Optional[int] = ..., refused_links: _Optional[int] = ...) -> None: ...
