from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Forward(_message.Message):
    __slots__ = ("listen", "bound_address", "peer", "service")
    LISTEN_FIELD_NUMBER: _ClassVar[int]
    BOUND_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    listen: str
    bound_address: str
    peer: str
    service: str
    def __init__(self, listen: _Optional[str] = ..., bound_address: _Optional[str] = ..., peer: _Optional[str] = ..., service: _Optional[str] = ...) -> None: ...

class AddForwardRequest(_message.Message):
    __slots__ = ("listen", "peer", "service")
    LISTEN_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    listen: str
    peer: str
    service: str
    def __init__(self, listen: _Optional[str] = ..., peer: _Optional[str] = ..., service: _Optional[str] = ...) -> None: ...

class AddForwardResponse(_message.Message):
    __slots__ = ("forward",)
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    forward: Forward
    def __init__(self, forward: _Optional[_Union[Forward, _Mapping]] = ...) -> None: ...

class RemoveForwardRequest(_message.Message):
    __slots__ = ("listen",)
    LISTEN_FIELD_NUMBER: _ClassVar[int]
    listen: str
    def __init__(self, listen: _Optional[str] = ...) -> None: ...

class RemoveForwardResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListForwardsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListForwardsResponse(_message.Message):
    __slots__ = ("forwards", "next_page_token")
    FORWARDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    forwards: _containers.RepeatedCompositeFieldContainer[Forward]
    next_page_token: str
    def __init__(self, forwards: _Optional[_Iterable[_Union[Forward, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("name", "target")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class AddServiceRequest(_message.Message):
    __slots__ = ("name", "target", "replace_existing")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REPLACE_EXISTING_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    replace_existing: bool
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., replace_existing: _Optional[bool] = ...) -> None: ...

class AddServiceResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: Service
    def __init__(self, service: _Optional[_Union[Service, _Mapping]] = ...) -> None: ...

class RemoveServiceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveServiceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services", "next_page_token")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[Service]
    next_page_token: str
    def __init__(self, services: _Optional[_Iterable[_Union[Service, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
