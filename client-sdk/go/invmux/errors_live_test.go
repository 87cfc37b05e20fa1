package invmux_test

// Typed errors: every failure the sidecar reports reaches the app as an *invmux.Error (errors.As) with the
// sidecar's stable reason, the field at fault and, where retrying helps, a retry delay. Asserted on those, never
// on the message.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/invmux/invmux/client-sdk/go/invmux"
)

func typed(t *testing.T, what string, err error) *invmux.Error {
	t.Helper()
	var e *invmux.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: want an *invmux.Error, got %T: %v", what, err, err)
	}
	if status.Code(err) != e.Code {
		t.Fatalf("%s: status.Code(err) = %v, the Error's Code %v", what, status.Code(err), e.Code)
	}
	return e
}

func TestAnUnknownPeerIsPeerUnknownNamingThePeer(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.OpenStream(ctx, "no-such-peer", "echo", nil)
	e := typed(t, "open to an unknown peer", err)
	if e.Code != codes.NotFound || e.Reason != "PEER_UNKNOWN" || e.Metadata["peer"] != "no-such-peer" || e.RetryDelay != 0 {
		t.Errorf("open to an unknown peer: %+v", e)
	}
}

func TestBadArgumentsNameTheirField(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check := func(what, field string, err error) {
		e := typed(t, what, err)
		if e.Reason != "INVALID_ARGUMENT" || e.Field != field {
			t.Errorf("%s: want INVALID_ARGUMENT on %q, got %q on %q", what, field, e.Reason, e.Field)
		}
	}
	_, err := a.OpenStream(ctx, peer, "", nil)
	check("empty service", "open.service", err)
	_, err = a.AcceptStream(ctx, "bad service!")
	check("bad accept service", "accept.service", err)
	for _, err := range a.WatchHealth(ctx, invmux.WithQualityInterval(time.Millisecond)) {
		check("watch with a 1 ms interval", "quality_interval", err)
		break
	}
	_, err = a.DialLink(ctx, "no/slash", "tcp://127.0.0.1:1")
	check("dial a bad peer name", "peer", err)
}

func TestAnUnknownSessionIsSessionUnknown(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := typed(t, "remove a link of an unknown session", a.RemoveLink(ctx, "0123456789abcdef0123456789abcdef", "1"))
	if e.Reason != "SESSION_UNKNOWN" || e.Metadata["session_id"] != "0123456789abcdef0123456789abcdef" {
		t.Errorf("remove a link of an unknown session: %+v", e)
	}
}

func TestADialToAClosedPortIsLinkFailedWithARetryDelay(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	_, err = a.DialLink(ctx, "go-errors-closed", fmt.Sprintf("tcp://127.0.0.1:%d", port))
	e := typed(t, "dial a closed port", err)
	if e.Code != codes.Unavailable || e.Reason != "LINK_FAILED" || e.RetryDelay <= 0 {
		t.Errorf("dial a closed port: %+v", e)
	}
}
