package invmux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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
// A Stream is a net.Conn: LocalAddr and RemoteAddr are Addrs, and the deadlines work as on a TCP connection
// (see SetDeadline), so that net/http, gRPC-Go and other code written for connections runs over it (see
// Client.Dialer, Client.Listen, Client.Serve).
//
// Back-pressure: Write blocks while the sidecar does not take more (HTTP/2 flow control, which the sidecar only
// opens as the peer reads); Read asks the sidecar for one message at a time and keeps at most the rest of one
// message. One goroutine may Read while another Writes; Close and the Set*Deadline methods may be called from any
// goroutine at any time.
type Stream struct {
	info      *pb.StreamInfo
	accepted  bool // this side accepted the stream (the peer opened it)
	send      func([]byte) error
	recv      func() ([]byte, error)
	closeSend func() error
	cancel    context.CancelFunc
	closed    atomic.Bool

	readDeadline, writeDeadline deadline

	rmu      sync.Mutex
	pending  []byte
	rerr     error
	callDone bool          // the server ended the call
	received chan received // the receive in flight (one a Read left at its deadline is the next Read's), or nil

	wmu     sync.Mutex
	wclosed atomic.Bool // set under wmu; read without it, by Close
	sent    chan error  // the send in flight (one a Write left at its deadline, the next Write awaits), or nil
}

// received is what one receive from the sidecar returned.
type received struct {
	data []byte
	err  error
}

var (
	_ io.ReadWriteCloser = (*Stream)(nil)
	_ net.Conn           = (*Stream)(nil)
)

// Info describes the stream: session, stream id, peer, service, the opener's metadata and traffic class.
func (s *Stream) Info() *pb.StreamInfo { return s.info }

// TrafficClass is the stream's traffic class, as its opener chose it (TRAFFIC_CLASS_BULK when it did not say).
func (s *Stream) TrafficClass() pb.TrafficClass {
	if c := s.info.GetTrafficClass(); c != pb.TrafficClass_TRAFFIC_CLASS_UNSPECIFIED {
		return c
	}
	return pb.TrafficClass_TRAFFIC_CLASS_BULK
}

// Read reads the peer's bytes; io.EOF after the peer half-closed; a gRPC status error (status.Code) when the
// stream failed: UNAVAILABLE (peer or session lost), CANCELLED (reset by the peer), RESOURCE_EXHAUSTED; an error
// wrapping net.ErrClosed after Close; a timeout (os.ErrDeadlineExceeded) at the read deadline, after which
// reading can go on.
func (s *Stream) Read(p []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.closed.Load() {
		return 0, errClosed
	}
	if s.readDeadline.passed() {
		return 0, s.timeout("read")
	}
	for len(s.pending) == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		if len(p) == 0 {
			return 0, nil
		}
		if err := s.receive(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// receive takes the next message from the sidecar into pending (or its end into rerr), or returns a timeout at
// the read deadline. The receive runs in a goroutine of its own so that the deadline, even one set while it
// waits, can end the Read; a receive left so is the one the next Read waits for, so no message is lost. Under rmu.
func (s *Stream) receive() error {
	if s.received == nil {
		done := make(chan received, 1)
		s.received = done
		go func() {
			data, err := s.recv()
			done <- received{data, err}
		}()
	}
	select {
	case r := <-s.received:
		s.received = nil
		switch {
		case r.err == io.EOF:
			s.rerr, s.callDone = io.EOF, true
		case r.err != nil:
			if s.closed.Load() {
				r.err = errClosed
			}
			s.rerr, s.callDone = r.err, true
		case len(r.data) == 0: // the peer's end of stream; the call goes on until CloseWrite
			s.rerr = io.EOF
		default:
			s.pending = r.data
		}
		return nil
	case <-s.readDeadline.wait():
		return s.timeout("read")
	}
}

// Write sends p to the peer, in messages of at most MaxWriteChunk bytes; it blocks while the stream's window is
// full. At the write deadline it returns a timeout (os.ErrDeadlineExceeded) and the bytes handed to the sidecar,
// counting the message still waiting for window: that one is sent when the window opens (the next Write, or
// CloseWrite, waits for it first), so writing p[n:] later sends every byte once.
func (s *Stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return 0, errClosed
	}
	if s.wclosed.Load() {
		return 0, ErrWriteClosed
	}
	if s.writeDeadline.passed() {
		return 0, s.timeout("write")
	}
	if err := s.awaitSent(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), MaxWriteChunk)
		chunk := bytes.Clone(p[:k]) // the send may outlive this Write (at its deadline), and Write must not keep p
		done := make(chan error, 1)
		s.sent = done
		go func() { done <- s.send(chunk) }()
		if err := s.awaitSent(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				n += k // on its way
			}
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// awaitSent waits for the send in flight, if any, until the write deadline. Under wmu.
func (s *Stream) awaitSent() error {
	if s.sent == nil {
		return nil
	}
	select {
	case err := <-s.sent:
		s.sent = nil
		if err != nil {
			return s.sendError(err)
		}
		return nil
	case <-s.writeDeadline.wait():
		return s.timeout("write")
	}
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

// CloseWrite half-closes: the peer reads EOF once it has read everything written before. Reading goes on. A
// message of a Write that timed out is sent first; when the write deadline passes before, CloseWrite returns
// the timeout and the stream stays open for writing.
func (s *Stream) CloseWrite() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed.Load() {
		return nil
	}
	err := s.awaitSent()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	s.wclosed.Store(true)
	if cerr := s.closeSend(); err == nil {
		err = cerr
	}
	return err
}

// closeGrace bounds how long Close waits for the sidecar to end a call whose both directions have ended.
const closeGrace = 5 * time.Second

// Close releases the stream. After CloseWrite and reading to EOF it first lets the call end (so that everything
// written reaches the sidecar, at most 5 s); otherwise it aborts the stream, and the peer sees a reset. It may be
// called at any time, from any goroutine, more than once; a Read or Write blocked meanwhile returns an error
// wrapping net.ErrClosed.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.wclosed.Load() && s.rmu.TryLock() {
		if s.rerr == io.EOF && !s.callDone && s.received == nil {
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

// LocalAddr is this end of the stream: on the side that opened it, its session and stream id
// ("<session id>/<stream id>"); on the side that accepted it, the service ("echo").
func (s *Stream) LocalAddr() net.Addr {
	if s.accepted {
		return Addr{Service: s.info.GetService()}
	}
	return Addr{SessionID: s.info.GetSessionId(), StreamID: s.info.GetStreamId()}
}

// RemoteAddr is the peer's end of the stream: on the side that opened it, the peer and service ("pod-b/echo");
// on the side that accepted it, the peer and the stream's ids ("pod-a/<session id>/<stream id>"), one per stream
// as a TCP client's address and port.
func (s *Stream) RemoteAddr() net.Addr {
	if s.accepted {
		return Addr{Peer: s.info.GetPeer(), SessionID: s.info.GetSessionId(), StreamID: s.info.GetStreamId()}
	}
	return Addr{Peer: s.info.GetPeer(), Service: s.info.GetService()}
}

// SetDeadline sets both the read and the write deadline (see SetReadDeadline, SetWriteDeadline).
func (s *Stream) SetDeadline(t time.Time) error {
	s.readDeadline.set(t)
	s.writeDeadline.set(t)
	return nil
}

// SetReadDeadline sets when Read stops waiting: a Read blocked at t, or called after it, returns an error that
// is os.ErrDeadlineExceeded (errors.Is) and a net.Error whose Timeout is true. The stream lives on: with a later
// deadline, or none, Read goes on where it stopped, no byte lost. A time in the past fails Reads at once (and
// wakes one blocked now); the zero time clears the deadline. It always returns nil.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.readDeadline.set(t)
	return nil
}

// SetWriteDeadline sets when Write (and CloseWrite) stop waiting for window, as SetReadDeadline does for Read;
// see Write for the bytes a Write that timed out has sent. It always returns nil.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.writeDeadline.set(t)
	return nil
}

// timeout is the error of a call that reached its deadline, as a TCP connection's: a *net.OpError wrapping
// os.ErrDeadlineExceeded.
func (s *Stream) timeout(op string) error {
	return &net.OpError{Op: op, Net: Network, Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: os.ErrDeadlineExceeded}
}

// OpenOption is an option of OpenStream.
type OpenOption func(*pb.StreamTarget)

// WithTrafficClass says how the stream's chunks are scheduled over the links, both ways (default
// TRAFFIC_CLASS_BULK): INTERACTIVE sends them ahead of bulk ones on the link expected to deliver first,
// REDUNDANT also sends each a second time on the next-best link. The acceptor's Stream.TrafficClass says the same.
func WithTrafficClass(c pb.TrafficClass) OpenOption {
	return func(t *pb.StreamTarget) { t.TrafficClass = c }
}

// OpenStream opens a stream to a service of a peer (a configured peer name or a session id), with optional
// metadata the accepting application sees. ctx bounds the opening only: the stream lives until Close.
// Errors are gRPC status errors: INVALID_ARGUMENT (naming the field), NOT_FOUND (unknown peer), UNAVAILABLE.
func (c *Client) OpenStream(ctx context.Context, peer, service string, metadata map[string]string,
	opts ...OpenOption) (*Stream, error) {
	target := &pb.StreamTarget{Peer: peer, Service: service, Metadata: metadata,
		TrafficClass: pb.TrafficClass_TRAFFIC_CLASS_BULK}
	for _, o := range opts {
		o(target)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	call, err := c.Streams.OpenStream(sctx)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	err = call.Send(&pb.OpenStreamRequest{Frame: &pb.OpenStreamRequest_Open{
		Open: target}})
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
	return newStream(first.GetOpened(), false, cancel, call,
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
	return newStream(first.GetAccepted(), true, cancel, call,
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

func newStream(info *pb.StreamInfo, accepted bool, cancel context.CancelFunc, call grpc.ClientStream,
	send func([]byte) error, recv func() ([]byte, error)) *Stream {
	return &Stream{info: info, accepted: accepted, cancel: cancel, send: send, recv: recv, closeSend: call.CloseSend}
}
