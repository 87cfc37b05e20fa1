package invmux_test

// A Stream as a net.Conn: its addresses, its deadlines (a timeout leaves the stream usable, no byte lost or sent
// twice) and the Dialer's addresses, against the real sidecar pair.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/invmux/invmux/client-sdk/go/invmux"
)

// acceptOne accepts one stream for service on c in the background; the stream comes on the channel, nil after a
// failure (reported on t).
func acceptOne(t *testing.T, ctx context.Context, c *invmux.Client, service string) <-chan *invmux.Stream {
	t.Helper()
	accepted := make(chan *invmux.Stream, 1)
	go func() {
		s, err := c.AcceptStream(ctx, service)
		if err != nil {
			t.Errorf("accept %s: %v", service, err)
		}
		accepted <- s
	}()
	return accepted
}

// wantTimeout fails t unless err is a deadline's: os.ErrDeadlineExceeded and a net.Error that is a timeout.
func wantTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: want a timeout (os.ErrDeadlineExceeded, net.Error.Timeout), got %T: %v", what, err, err)
	}
}

func TestStreamAddressesNameBothEnds(t *testing.T) {
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	accepted := acceptOne(t, ctx, b, "go-addr")
	opened, err := a.OpenStream(ctx, peer, "go-addr", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	acc := <-accepted
	if acc == nil {
		t.FailNow()
	}
	defer acc.Close()
	ids := fmt.Sprintf("%s/%d", opened.Info().GetSessionId(), opened.Info().GetStreamId())
	for _, c := range []struct {
		what string
		addr net.Addr
		want string
	}{
		{"opener's remote", opened.RemoteAddr(), peer + "/go-addr"},
		{"opener's local", opened.LocalAddr(), ids},
		{"acceptor's local", acc.LocalAddr(), "go-addr"},
		{"acceptor's remote", acc.RemoteAddr(), fmt.Sprintf("pod-a/%s/%d", acc.Info().GetSessionId(), acc.Info().GetStreamId())},
	} {
		if c.addr.Network() != "invmux" || c.addr.String() != c.want {
			t.Errorf("%s address: %s %q, want invmux %q", c.what, c.addr.Network(), c.addr, c.want)
		}
	}
}

// A Read that times out leaves the stream as it was: the peer's bytes written afterwards are all read.
func TestReadDeadlineTimesOutAndReadingGoesOn(t *testing.T) {
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{21}).Read(data)
	write := make(chan struct{})
	written := make(chan error, 1)
	accepted := acceptOne(t, ctx, b, "go-read-deadline")
	go func() { // pod-b's app: silent until told, then 1 MiB and its end
		s := <-accepted
		if s == nil {
			written <- errors.New("not accepted")
			return
		}
		defer s.Close()
		<-write
		_, err := s.Write(data)
		if err == nil {
			err = s.CloseWrite()
		}
		if err == nil {
			_, err = io.Copy(io.Discard, s) // to the opener's end, so that Close lets the call end
		}
		written <- err
	}()
	s, err := a.OpenStream(ctx, peer, "go-read-deadline", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 4096)

	start := time.Now()
	s.SetReadDeadline(start.Add(200 * time.Millisecond))
	n, err := s.Read(buf)
	waited := time.Since(start)
	wantTimeout(t, "a Read with a 200 ms deadline and no data", err)
	if n != 0 || waited < 200*time.Millisecond || waited > 20*time.Second {
		t.Fatalf("the Read returned %d bytes after %v", n, waited)
	}

	s.SetReadDeadline(time.Now().Add(-time.Second))
	_, err = s.Read(buf)
	wantTimeout(t, "a Read after a deadline in the past", err)

	// a Read blocked without deadline is woken by a deadline set meanwhile (as net/http's server does)
	s.SetReadDeadline(time.Time{})
	wake := time.AfterFunc(100*time.Millisecond, func() { s.SetReadDeadline(time.Now().Add(-time.Second)) })
	defer wake.Stop()
	_, err = s.Read(buf)
	wantTimeout(t, "a blocked Read woken by a deadline in the past", err)

	s.SetReadDeadline(time.Time{})
	close(write)
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("reading after the timeouts: %v (after %d bytes)", err, len(got))
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes after the timeouts (equal: %v), the peer wrote %d", len(got), bytes.Equal(got, data), len(data))
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
}

// A Write times out when the peer does not read and its windows are full; the bytes it reports written and the
// rest written later reach the peer exactly once.
func TestWriteDeadlineTimesOutWhileThePeerDoesNotRead(t *testing.T) {
	const most = 512 << 20 // far more than every window and buffer on the way
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		n   int64
		sum []byte
		err error
	}
	read := make(chan struct{})
	done := make(chan result, 1)
	accepted := acceptOne(t, ctx, b, "go-write-deadline")
	go func() { // pod-b's app: reads nothing until told, then everything
		s := <-accepted
		if s == nil {
			done <- result{err: errors.New("not accepted")}
			return
		}
		defer s.Close()
		select {
		case <-read:
		case <-ctx.Done():
		}
		h := sha256.New()
		n, err := io.Copy(h, s)
		if err == nil {
			err = s.CloseWrite()
		}
		done <- result{n, h.Sum(nil), err}
	}()
	s, err := a.OpenStream(ctx, peer, "go-write-deadline", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src := rand.NewChaCha8([32]byte{22})
	sent := sha256.New()
	var total int64
	chunk := make([]byte, 1<<20)
	var rest []byte
	for {
		_, _ = src.Read(chunk)
		s.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := s.Write(chunk)
		sent.Write(chunk[:n])
		total += int64(n)
		if err != nil {
			wantTimeout(t, "a Write to a peer that does not read", err)
			rest = chunk[n:]
			break
		}
		if total > most {
			t.Fatalf("wrote %d bytes to a peer that reads nothing, and no Write timed out", total)
		}
	}
	t.Logf("a Write timed out after %d bytes written", total)

	s.SetWriteDeadline(time.Now().Add(-time.Second))
	if n, err := s.Write([]byte("late")); n != 0 {
		t.Fatalf("a Write after a deadline in the past wrote %d bytes", n)
	} else {
		wantTimeout(t, "a Write after a deadline in the past", err)
	}

	s.SetWriteDeadline(time.Time{})
	close(read)
	more := make([]byte, 1<<20)
	_, _ = src.Read(more)
	for _, p := range [][]byte{rest, more} {
		n, err := s.Write(p)
		sent.Write(p[:n])
		total += int64(n)
		if err != nil {
			t.Fatalf("writing after the timeout: %v", err)
		}
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(s); err != nil || len(rest) != 0 {
		t.Fatalf("after the peer's end: %d bytes, %v", len(rest), err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.n != total || !bytes.Equal(r.sum, sent.Sum(nil)) {
		t.Fatalf("the peer read %d bytes (sha256 %x), the Writes reported %d (sha256 %x)", r.n, r.sum, total, sent.Sum(nil))
	}
}

func TestDialerRefusesBadAddressesAndWrapsOpenErrors(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := a.Dialer(peer)
	for _, address := range []string{"", ":80", "a:b:c"} {
		if _, err := d.DialContext(ctx, "tcp", address); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", address)) {
			t.Errorf("dial %q: want an error naming the address, got %v", address, err)
		}
	}
	_, err := a.Dialer("no-such-peer").Dial(ctx, "web:80")
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || op.Addr.String() != "no-such-peer/web" {
		t.Fatalf("dial an unknown peer: want a *net.OpError naming no-such-peer/web, got %T: %v", err, err)
	}
	if e := typed(t, "dial an unknown peer", err); e.Reason != "PEER_UNKNOWN" {
		t.Errorf("dial an unknown peer: %+v", e)
	}
}
