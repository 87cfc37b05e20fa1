package invmux_test

// Serve and Listen against the real sidecar pair: handlers beyond the accept concurrency, the stream closed
// after its handler, a stop by ctx, errors that retrying cannot cure.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/invmux/invmux/client-sdk/go/invmux"
)

// Eight streams are handled at the same time by a Serve that keeps four calls outstanding: each handler waits
// until all eight have started, which only happens if each accepted call is replaced at once. Serve is stopped
// while all eight run: they still answer, and Serve returns nil once the last has returned.
func TestServeHandlesMoreStreamsAtOnceThanItsConcurrency(t *testing.T) {
	const streams, concurrency = 8, 4
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	started := make(chan struct{}, streams)
	allStarted := make(chan struct{})
	go func() {
		for range streams {
			<-started
		}
		stop() // with every handler running
		close(allStarted)
	}()
	var running atomic.Int32
	type result struct {
		err     error
		running int32 // handlers running when Serve returned
	}
	served := make(chan result, 1)
	go func() {
		err := b.Serve(serveCtx, "go-serve", func(s *invmux.Stream) {
			running.Add(1)
			defer running.Add(-1)
			started <- struct{}{}
			select {
			case <-allStarted:
			case <-ctx.Done():
				return
			}
			req, err := io.ReadAll(s)
			if err != nil {
				return
			}
			if _, err := s.Write([]byte(strings.ToUpper(string(req)))); err == nil {
				_ = s.CloseWrite()
			}
		}, invmux.WithConcurrency(concurrency))
		served <- result{err, running.Load()}
	}()

	answers := make(chan error, streams)
	for i := range streams {
		go func() {
			answers <- func() error {
				s, err := a.OpenStream(ctx, peer, "go-serve", nil)
				if err != nil {
					return err
				}
				defer s.Close()
				req := fmt.Sprintf("stream %d", i)
				if _, err := s.Write([]byte(req)); err != nil {
					return err
				}
				if err := s.CloseWrite(); err != nil {
					return err
				}
				resp, err := io.ReadAll(s)
				if err != nil || string(resp) != strings.ToUpper(req) {
					return fmt.Errorf("%s: answer %q, %v", req, resp, err)
				}
				return nil
			}()
		}()
	}
	for range streams {
		if err := <-answers; err != nil {
			t.Fatal(err)
		}
	}
	select {
	case r := <-served:
		if r.err != nil || r.running != 0 {
			t.Fatalf("Serve stopped by its ctx returned %v with %d handlers running, want nil with none", r.err, r.running)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after its ctx was cancelled")
	}
}

// A handler that returns without a word: Serve closes the stream, and the opener's Read ends (a reset).
func TestServeClosesTheStreamWhenItsHandlerReturns(t *testing.T) {
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- b.Serve(serveCtx, "go-serve-close", func(*invmux.Stream) {}) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	s, err := a.OpenStream(ctx, peer, "go-serve-close", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = io.ReadAll(s)
	if status.Code(err) != codes.Canceled {
		t.Fatalf("reading a stream whose handler returned: want the peer's reset (Canceled), got %v", err)
	}
}

func TestServeAndListenReturnErrorsThatRetryingCannotCure(t *testing.T) {
	b := client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	e := typed(t, "Serve of a bad service name", b.Serve(ctx, "bad service!", func(*invmux.Stream) {}))
	if e.Reason != "INVALID_ARGUMENT" || e.Field != "accept.service" {
		t.Errorf("Serve of a bad service name: %+v", e)
	}
	l := b.Listen("bad service!")
	_, err := l.Accept()
	if e := typed(t, "Accept of a bad service name", err); e.Field != "accept.service" {
		t.Errorf("Accept of a bad service name: %+v", e)
	}
	if _, again := l.Accept(); again == nil || again.Error() != err.Error() {
		t.Errorf("the second Accept: %v, want the first's %v", again, err)
	}
	l.Close()

	err = b.Serve(ctx, "go-serve", func(*invmux.Stream) {}, invmux.WithConcurrency(0))
	if err == nil || !strings.Contains(err.Error(), "WithConcurrency(0)") {
		t.Errorf("Serve with a concurrency of 0: %v", err)
	}
	if err := b.Serve(ctx, "go-serve", nil); err == nil || !strings.Contains(err.Error(), "handler") {
		t.Errorf("Serve without a handler: %v", err)
	}

	// the Client closed under a Serve: its calls fail, and Serve returns at once instead of retrying
	c, err := invmux.New(invmux.WithEndpoint(endpointB))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForSidecar(ctx); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, "go-serve-closed", func(*invmux.Stream) {}) }()
	c.Close()
	select {
	case err := <-served:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve on a closed Client: want an error wrapping net.ErrClosed, got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve on a closed Client did not return")
	}
}

// Closing a Listener ends its Accept at once, with net.ErrClosed, as a TCP listener's.
func TestListenerCloseEndsAccept(t *testing.T) {
	b := client(t, endpointB)
	l := b.Listen("go-listen-close", invmux.WithConcurrency(2))
	if l.Addr().Network() != "invmux" || l.Addr().String() != "go-listen-close" {
		t.Errorf("listener address %s %q", l.Addr().Network(), l.Addr())
	}
	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	l.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: want net.ErrClosed, got %v", err)
	}
}
