/** The generated protobuf/gRPC stubs of the InvMux API (package invmux.v1), one namespace per file. */
export * as common from "./gen/invmux/v1/common";
export * as connection from "./gen/invmux/v1/connection_service";
export * as forward from "./gen/invmux/v1/forward_service";
export * as monitor from "./gen/invmux/v1/monitor_service";
export * as stream from "./gen/invmux/v1/stream_service";
