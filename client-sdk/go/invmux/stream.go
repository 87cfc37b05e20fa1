package invmux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	pb "github.com/invmux/invmux/client-sdk/go/invmux/v1"
)

// MaxWriteChunk is the largest data message a Stream sends; longer writes are cut (the API takes at most 256 KiB).
const MaxWriteChunk = 64 << 10

// ErrWriteClosed is returned by Write after CloseWrite.
var ErrWriteClosed = errors.New("invmux: write after CloseWrite")

// Stream is one byte stream to a peer's application, carried by the sidecars over the bundle. Read returns the
// peer's bytes and io.EOF after the peer's end of stream; Write sends bytes; CloseWrite half-closes (the peer
// reads EOF, reading goes on); Close ends the stream in both directions and releases it.
//
// Back-pressure: Write blocks while the sidecar does not take more (HTTP/2 flow control, which the sidecar only
// opens as the peer reads); Read asks the sidecar for one message at a time and keeps at most the rest of one
// message. One goroutine may Read while another Writes.
type Stream struct {
	info      *pb.StreamInfo
	send      func([]byte) error
	recv      func() ([]byte, error)
	closeSend func() error
	cancel    context.CancelFunc
	closed    atomic.Bool

	rmu      sync.Mutex
	pending  []byte
	rerr     error
	callDone bool // the server ended the call

	wmu     sync.Mutex
	wclosed bool
}

var _ io.ReadWriteCloser = (*Stream)(nil)

// Info describes the stream: session, stream id, peer, service and the opener's metadata.
func (s *Stream) Info() *pb.StreamInfo { return s.info }

// Read reads the peer's bytes; io.EOF after the peer half-closed; a gRPC status error (status.Code) when the
// stream failed: UNAVAILABLE (peer or session lost), CANCELLED (reset by the peer), RESOURCE_EXHAUSTED.
func (s *Stream) Read(p []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for len(s.pending) == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		if len(p) == 0 {
			return 0, nil
		}
		data, err := s.recv()
		switch {
		case err == io.EOF:
			s.rerr, s.callDone = io.EOF, true
		case err != nil:
			if s.closed.Load() {
				err = errClosed
			}
			s.rerr, s.callDone = err, true
		case len(data) == 0: // the peer's end of stream; the call goes on until CloseWrite
			s.rerr = io.EOF
		default:
			s.pending = data
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// Write sends p to the peer, in messages of at most MaxWriteChunk bytes; it blocks while the stream's window is
// full.
func (s *Stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return 0, ErrWriteClosed
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), MaxWriteChunk)
		if err := s.send(p[:k]); err != nil {
			return n, s.sendError(err)
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

func (s *Stream) sendError(err error) error {
	if s.closed.Load() {
		return errClosed
	}
	if err == io.EOF { // gRPC's way of saying the call ended; its status is what Read returns
		return fmt.Errorf("invmux: write: the stream ended (Read returns why): %w", io.ErrClosedPipe)
	}
	return err
}

// CloseWrite half-closes: the peer reads EOF once it has read everything written before. Reading goes on.
func (s *Stream) CloseWrite() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return nil
	}
	s.wclosed = true
	return s.closeSend()
}

// closeGrace bounds how long Close waits for the sidecar to end a call whose both directions have ended.
const closeGrace = 5 * time.Second

// Close releases the stream. After CloseWrite and reading to EOF it first lets the call end (so that everything
// written reaches the sidecar, at most 5 s); otherwise it aborts the stream, and the peer sees a reset. It may be
// called at any time, from any goroutine, more than once.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.wmu.Lock()
	wclosed := s.wclosed
	s.wmu.Unlock()
	if wclosed && s.rmu.TryLock() {
		if s.rerr == io.EOF && !s.callDone {
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					if _, err := s.recv(); err != nil {
						return
					}
				}
			}()
			select {
			case <-done:
			case <-time.After(closeGrace):
			}
		}
		s.rmu.Unlock()
	}
	s.cancel()
	return nil
}

// OpenStream opens a stream to a service of a peer (a configured peer name or a session id), with optional
// metadata the accepting application sees. ctx bounds the opening only: the stream lives until Close.
// Errors are gRPC status errors: INVALID_ARGUMENT (naming the field), NOT_FOUND (unknown peer), UNAVAILABLE.
func (c *Client) OpenStream(ctx context.Context, peer, service string, metadata map[string]string) (*Stream, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	call, err := c.Streams.OpenStream(sctx)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	err = call.Send(&pb.OpenStreamRequest{Frame: &pb.OpenStreamRequest_Open{
		Open: &pb.StreamTarget{Peer: peer, Service: service, Metadata: metadata}}})
	var first *pb.OpenStreamResponse
	if err == nil || err == io.EOF { // on io.EOF, Recv returns the call's status
		first, err = call.Recv()
	}
	if !stop() || err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("invmux: opening a stream to %s/%s: %w", peer, service, ctx.Err())
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if first.GetOpened() == nil {
		cancel()
		return nil, fmt.Errorf("invmux: the sidecar's first message was not 'opened': %v", first)
	}
	return newStream(first.GetOpened(), cancel, call,
		func(b []byte) error {
			return call.Send(&pb.OpenStreamRequest{Frame: &pb.OpenStreamRequest_Data{Data: b}})
		},
		func() ([]byte, error) {
			m, err := call.Recv()
			if err != nil {
				return nil, err
			}
			return m.GetData(), nil
		}), nil
}

// AcceptStream waits for the next stream a peer opens to service and returns it. ctx bounds the waiting only.
// Start it before the peer opens (or within the sidecar's pending timeout, 10 s by default); keep several calls
// outstanding to accept several streams at once.
func (c *Client) AcceptStream(ctx context.Context, service string) (*Stream, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	call, err := c.Streams.AcceptStream(sctx)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	err = call.Send(&pb.AcceptStreamRequest{Frame: &pb.AcceptStreamRequest_Accept{Accept: &pb.AcceptTarget{Service: service}}})
	var first *pb.AcceptStreamResponse
	if err == nil || err == io.EOF {
		first, err = call.Recv()
	}
	if !stop() || err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("invmux: accepting a stream for %s: %w", service, ctx.Err())
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if first.GetAccepted() == nil {
		cancel()
		return nil, fmt.Errorf("invmux: the sidecar's first message was not 'accepted': %v", first)
	}
	return newStream(first.GetAccepted(), cancel, call,
		func(b []byte) error {
			return call.Send(&pb.AcceptStreamRequest{Frame: &pb.AcceptStreamRequest_Data{Data: b}})
		},
		func() ([]byte, error) {
			m, err := call.Recv()
			if err != nil {
				return nil, err
			}
			return m.GetData(), nil
		}), nil
}

func newStream(info *pb.StreamInfo, cancel context.CancelFunc, call grpc.ClientStream, send func([]byte) error,
	recv func() ([]byte, error)) *Stream {
	return &Stream{info: info, cancel: cancel, send: send, recv: recv, closeSend: call.CloseSend}
}
