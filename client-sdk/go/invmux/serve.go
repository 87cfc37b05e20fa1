package invmux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/connectivity"
)

// DefaultConcurrency is how many AcceptStream calls Serve and Listen keep outstanding unless WithConcurrency says.
const DefaultConcurrency = 16

const (
	acceptMinBackoff = 100 * time.Millisecond
	acceptMaxBackoff = 5 * time.Second
)

// ServeOption configures Serve and Listen.
type ServeOption func(*serveOptions)

type serveOptions struct {
	concurrency int
}

// WithConcurrency sets how many AcceptStream calls are kept outstanding (default DefaultConcurrency, at least 1):
// how many streams opened at the same moment are taken at once; the others wait in the sidecar (at most its
// limits.acceptTimeout, 10 s by default) for the next call, made as soon as a stream is accepted. Each call is a
// streaming call of api.maxStreamsPerClient, as each stream is.
func WithConcurrency(n int) ServeOption {
	return func(o *serveOptions) { o.concurrency = n }
}

func serveOptionsOf(opts []ServeOption) (serveOptions, error) {
	o := serveOptions{concurrency: DefaultConcurrency}
	for _, opt := range opts {
		opt(&o)
	}
	if o.concurrency < 1 {
		return o, fmt.Errorf("invmux: WithConcurrency(%d): want at least 1", o.concurrency)
	}
	return o, nil
}

// Serve accepts the streams peers open to service and runs handler on each, in a goroutine of its own, closing the
// stream (Stream.Close) when the handler returns: a handler that answers and wants every byte delivered calls
// CloseWrite and reads to EOF first, else the peer may see a reset. Handlers are not limited in number: Serve
// keeps WithConcurrency calls outstanding and replaces each one that accepted a stream at once.
//
// When ctx ends, Serve stops accepting, waits for the handlers running and returns nil: cancelling ctx is how it
// is stopped (a handler that should end with ctx too watches ctx itself). An error that retrying cannot cure
// (INVALID_ARGUMENT for a bad service name, UNAUTHENTICATED, PERMISSION_DENIED, the Client closed) stops it the
// same way and is returned once the handlers have returned; other failures (the sidecar unreachable or
// restarting, RESOURCE_EXHAUSTED) are retried with backoff, 100 ms doubling to 5 s, or the error's RetryDelay.
func (c *Client) Serve(ctx context.Context, service string, handler func(*Stream), opts ...ServeOption) error {
	o, err := serveOptionsOf(opts)
	if err != nil {
		return err
	}
	if handler == nil {
		return errors.New("invmux: Serve: the handler is nil")
	}
	var handlers sync.WaitGroup
	err = c.acceptEach(ctx, service, o.concurrency, func(s *Stream) {
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			defer s.Close()
			handler(s)
		}()
	})
	handlers.Wait()
	return err
}

// acceptEach keeps n AcceptStream calls for service outstanding until ctx ends (then it returns nil) or one fails
// for good (then it returns that error, after stopping the others), and hands each stream accepted to take; the
// call whose stream take has not returned from is not replaced yet.
func (c *Client) acceptEach(ctx context.Context, service string, n int, take func(*Stream)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		acceptors sync.WaitGroup
		once      sync.Once
		failure   error
	)
	for range n {
		acceptors.Add(1)
		go func() {
			defer acceptors.Done()
			if err := c.acceptLoop(ctx, service, take); err != nil {
				once.Do(func() {
					failure = err
					cancel()
				})
			}
		}()
	}
	acceptors.Wait()
	return failure
}

// acceptLoop is one of acceptEach's calls, made again after each stream and, with backoff, after each failure
// that retrying may cure.
func (c *Client) acceptLoop(ctx context.Context, service string, take func(*Stream)) error {
	delay := acceptMinBackoff
	for {
		s, err := c.AcceptStream(ctx, service)
		if err == nil {
			delay = acceptMinBackoff
			take(s)
			continue
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case c.conn.GetState() == connectivity.Shutdown:
			return fmt.Errorf("invmux: accepting streams for %s: the client is closed: %w", service, net.ErrClosed)
		case !retryable(err) && !errors.Is(err, io.ErrUnexpectedEOF):
			return err
		}
		wait := delay
		var e *Error
		if errors.As(err, &e) && e.RetryDelay > wait {
			wait = e.RetryDelay
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		delay = min(delay*2, acceptMaxBackoff)
		c.conn.ResetConnectBackoff()
	}
}

// Listener is a net.Listener of the streams peers open to one service (Client.Listen): Accept returns each as a
// net.Conn, a *Stream, so that http.Serve, grpc.Server.Serve and other servers of connections run over InvMux.
type Listener struct {
	service string
	streams chan *Stream
	cancel  context.CancelFunc
	closed  chan struct{} // closed by Close
	stopped chan struct{} // closed once no AcceptStream call is left; err says why
	err     error
	once    sync.Once
}

var _ net.Listener = (*Listener)(nil)

// Listen returns a Listener of the streams peers open to service. It keeps WithConcurrency AcceptStream calls
// outstanding (default DefaultConcurrency); a stream accepted waits for Accept, and its call is made again once
// Accept took it. Failures are handled as Serve handles them: retried, or, when retrying cannot cure them
// (a bad service name, a bad option, the Client closed), returned by every Accept from then on.
func (c *Client) Listen(service string, opts ...ServeOption) *Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{service: service, streams: make(chan *Stream), cancel: cancel, closed: make(chan struct{}),
		stopped: make(chan struct{})}
	o, err := serveOptionsOf(opts)
	if err != nil {
		l.err = err
		close(l.stopped)
		return l
	}
	go func() {
		defer close(l.stopped)
		l.err = c.acceptEach(ctx, service, o.concurrency, func(s *Stream) {
			select {
			case l.streams <- s:
			case <-ctx.Done():
				s.Close()
			}
		})
	}()
	return l
}

// Accept waits for the next stream and returns it (a *Stream). After Close it returns an error wrapping
// net.ErrClosed; after a failure that retrying cannot cure, that failure.
func (l *Listener) Accept() (net.Conn, error) {
	s, err := l.AcceptStream()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// AcceptStream is Accept returning the *Stream.
func (l *Listener) AcceptStream() (*Stream, error) {
	select {
	case <-l.closed:
		return nil, l.closedError()
	default:
	}
	select {
	case s := <-l.streams:
		return s, nil
	case <-l.closed:
		return nil, l.closedError()
	case <-l.stopped:
		if l.err == nil { // stopped by Close
			return nil, l.closedError()
		}
		return nil, &net.OpError{Op: "accept", Net: Network, Addr: l.Addr(), Err: l.err}
	}
}

func (l *Listener) closedError() error {
	return &net.OpError{Op: "accept", Net: Network, Addr: l.Addr(), Err: net.ErrClosed}
}

// Close stops accepting: it ends the AcceptStream calls, closes a stream accepted but not taken by Accept, and
// returns once none is left. It may be called more than once; it returns nil.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.cancel()
	})
	<-l.stopped
	return nil
}

// Addr is the service listened on (Addr{Service: service}).
func (l *Listener) Addr() net.Addr { return Addr{Service: l.service} }
