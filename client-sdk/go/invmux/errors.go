package invmux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of the sidecar's reasons.
const ErrorDomain = "invmux.io"

// Error is a call the sidecar failed, with what its google.rpc.Status details say. Every error of this package's
// calls that came from the sidecar is an *Error (use errors.As); it keeps its gRPC status, so status.Code(err)
// works as before.
//
// Branch on Reason, not on the message: the sidecar's stable reason (invmux.v1.ErrorReason without its prefix:
// "PEER_UNKNOWN", "SESSION_UNKNOWN", "SERVICE_NOT_ACCEPTED", "LIMIT_STREAMS_PER_CLIENT", "INVALID_ARGUMENT", ...).
// Field names the request field at fault, Metadata holds the rest of the ErrorInfo ("peer", "session_id",
// "bound", ...), RetryDelay is positive when the sidecar says retrying later can succeed. Failures made on this
// side (a cancelled context, an unreachable sidecar) have an empty Reason.
type Error struct {
	Code       codes.Code
	Message    string
	Reason     string
	Field      string
	Metadata   map[string]string
	RetryDelay time.Duration
	status     *status.Status
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("invmux: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("invmux: %s (%s): %s", e.Code, e.Reason, e.Message)
}

// GRPCStatus is the status the sidecar sent, details included (status.FromError and status.Code use it).
func (e *Error) GRPCStatus() *status.Status { return e.status }

// asError turns a gRPC status error into an *Error; io.EOF, nil and errors that carry no status pass unchanged.
func asError(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Code: s.Code(), Message: s.Message(), Metadata: map[string]string{}, status: s}
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == ErrorDomain {
				e.Reason = d.GetReason()
				for k, v := range d.GetMetadata() {
					e.Metadata[k] = v
				}
				if f, ok := d.GetMetadata()["field"]; ok {
					e.Field = f
				}
			}
		case *errdetails.BadRequest:
			if e.Field == "" && len(d.GetFieldViolations()) > 0 {
				e.Field = d.GetFieldViolations()[0].GetField()
			}
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		}
	}
	return e
}

// typedErrors are the dial options that make every call's errors *Error.
func typedErrors() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
			invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return asError(invoker(ctx, method, req, reply, cc, opts...))
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
			method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, asError(err)
			}
			return typedStream{s}, nil
		}),
	}
}

// typedStream makes a stream's errors *Error.
type typedStream struct{ grpc.ClientStream }

func (s typedStream) SendMsg(m any) error { return asError(s.ClientStream.SendMsg(m)) }
func (s typedStream) RecvMsg(m any) error { return asError(s.ClientStream.RecvMsg(m)) }
func (s typedStream) CloseSend() error    { return asError(s.ClientStream.CloseSend()) }
