package invmux_test

// Live tests against two real sidecar processes: pod-a (where apps open streams to peer "pod-b") and pod-b
// (where apps accept them). Their endpoints come from $INVMUX_A_ENDPOINT and $INVMUX_B_ENDPOINT (as written by
// client-sdk/testing/sidecars.sh); when those are not set, TestMain starts a pair with that script and stops it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/invmux/invmux/client-sdk/go/invmux"
	pb "github.com/invmux/invmux/client-sdk/go/invmux/v1"
)

var endpointA, endpointB, peer string

func TestMain(m *testing.M) {
	endpointA, endpointB, peer = os.Getenv("INVMUX_A_ENDPOINT"), os.Getenv("INVMUX_B_ENDPOINT"), os.Getenv("INVMUX_PEER")
	if peer == "" {
		peer = "pod-b"
	}
	var stop func()
	if endpointA == "" || endpointB == "" {
		var err error
		if stop, err = startSidecars(); err != nil {
			fmt.Fprintln(os.Stderr, "live tests: cannot start the sidecars:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

func startSidecars() (func(), error) {
	script, err := filepath.Abs("../../testing/sidecars.sh")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "invmux-go-live-")
	if err != nil {
		return nil, err
	}
	start := exec.Command(script, "start", dir)
	start.Stdout, start.Stderr = os.Stderr, os.Stderr
	if err := start.Run(); err != nil {
		return nil, fmt.Errorf("%s start: %w", script, err)
	}
	stop := func() {
		c := exec.Command(script, "stop", dir)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		_ = c.Run()
		_ = os.RemoveAll(dir)
	}
	f, err := os.Open(filepath.Join(dir, "sidecars.env"))
	if err != nil {
		stop()
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "INVMUX_A_ENDPOINT":
			endpointA = v
		case "INVMUX_B_ENDPOINT":
			endpointB = v
		case "INVMUX_LINK_PORTS":
			os.Setenv(k, strings.Trim(v, `"`)) // pod-b's peer-link ports, for tests that dial links
		}
	}
	return stop, nil
}

func client(t *testing.T, endpoint string) *invmux.Client {
	t.Helper()
	c, err := invmux.New(invmux.WithEndpoint(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitForSidecar(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEchoLargePayload(t *testing.T) {
	const size = 32 << 20
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	type result struct {
		n    int64
		sum  [32]byte
		info *pb.StreamInfo
		err  error
	}
	accepted := make(chan result, 1)
	go func() { // pod-b's app: echo everything back while hashing it
		s, err := b.AcceptStream(ctx, "go-echo")
		if err != nil {
			accepted <- result{err: err}
			return
		}
		defer s.Close()
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(s, h), s)
		if err == nil {
			err = s.CloseWrite()
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		accepted <- result{n, sum, s.Info(), err}
	}()

	s, err := a.OpenStream(ctx, peer, "go-echo", map[string]string{"lang": "go"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Info().GetService() != "go-echo" || s.Info().GetSessionId() == "" {
		t.Errorf("opened: %v", s.Info())
	}
	src := rand.NewChaCha8([32]byte{7})
	sent := sha256.New()
	werr := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.MultiWriter(s, sent), io.LimitReader(src, size))
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	echo := sha256.New()
	n, err := io.Copy(echo, s)
	if err != nil {
		t.Fatalf("reading the echo after %d bytes: %v", n, err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		t.Fatal(r.err)
	}
	if n != size || r.n != size {
		t.Fatalf("echoed %d bytes, acceptor got %d, want %d", n, r.n, size)
	}
	if !bytes.Equal(sent.Sum(nil), echo.Sum(nil)) || !bytes.Equal(sent.Sum(nil), r.sum[:]) {
		t.Fatalf("sha256 differ: sent %x, acceptor %x, echo %x", sent.Sum(nil), r.sum, echo.Sum(nil))
	}
	if r.info.GetMetadata()["lang"] != "go" || r.info.GetService() != "go-echo" || r.info.GetPeer() != "pod-a" {
		t.Errorf("accepted: %v", r.info)
	}
}

// The acceptor reads the whole request (to EOF), then answers: it may still write after the peer's end of stream.
func TestRequestThenResponseAfterEOF(t *testing.T) {
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		s, err := b.AcceptStream(ctx, "go-rr")
		if err != nil {
			return
		}
		defer s.Close()
		req, _ := io.ReadAll(s)
		_, _ = s.Write([]byte(fmt.Sprintf("got %d bytes: %s", len(req), strings.ToUpper(string(req)))))
		_ = s.CloseWrite()
	}()
	s, err := a.OpenStream(ctx, peer, "go-rr", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp) != "got 5 bytes: HELLO" {
		t.Fatalf("response %q", resp)
	}
}

func TestTrafficClassReachesTheAcceptor(t *testing.T) {
	a, b := client(t, endpointA), client(t, endpointB)
	for _, class := range []pb.TrafficClass{pb.TrafficClass_TRAFFIC_CLASS_BULK,
		pb.TrafficClass_TRAFFIC_CLASS_INTERACTIVE, pb.TrafficClass_TRAFFIC_CLASS_REDUNDANT} {
		t.Run(class.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			service := "go-tc-" + strings.ToLower(class.String())
			data := make([]byte, 256*1024)
			_, _ = rand.NewChaCha8([32]byte{byte(class)}).Read(data)
			type seen struct {
				class pb.TrafficClass
				got   []byte
				err   error
			}
			done := make(chan seen, 1)
			go func() {
				s, err := b.AcceptStream(ctx, service)
				if err != nil {
					done <- seen{err: err}
					return
				}
				defer s.Close()
				got, err := io.ReadAll(s)
				_ = s.CloseWrite()
				done <- seen{class: s.TrafficClass(), got: got, err: err}
			}()
			s, err := a.OpenStream(ctx, peer, service, nil, invmux.WithTrafficClass(class))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.TrafficClass() != class {
				t.Fatalf("opened as %v, asked for %v", s.TrafficClass(), class)
			}
			if _, err := s.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if rest, err := io.ReadAll(s); err != nil || len(rest) != 0 {
				t.Fatalf("after the acceptor's end: %d bytes, %v", len(rest), err)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.class != class || !bytes.Equal(r.got, data) {
				t.Fatalf("acceptor saw class %v and %d bytes (equal: %v)", r.class, len(r.got), bytes.Equal(r.got, data))
			}
		})
	}
}

func TestWatchHealthSnapshotThenQuality(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first := true
	for ev, err := range a.WatchHealth(ctx, invmux.WithQualityInterval(200*time.Millisecond)) {
		if err != nil {
			t.Fatal(err)
		}
		if first {
			snap := ev.GetSnapshot()
			if snap == nil {
				t.Fatalf("first event is not a snapshot: %v", ev)
			}
			if len(snap.GetSessions()) != 1 || snap.GetSessions()[0].GetPeer() != peer || len(snap.GetSessions()[0].GetLinks()) != 2 {
				t.Fatalf("snapshot: want one session with %s over 2 links, got %v", peer, snap)
			}
			first = false
			continue
		}
		if q := ev.GetQuality(); q != nil {
			if q.GetLink().GetLinkId() == "" || q.GetLink().GetQuality() == nil {
				t.Fatalf("quality sample without link or quality: %v", q)
			}
			return
		}
	}
	t.Fatal("no quality sample before the deadline")
}

func TestBadRequestsSurfaceStatusCodes(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := a.OpenStream(ctx, peer, "", nil)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "open.service") {
		t.Errorf("empty service: %v", err)
	}
	_, err = a.OpenStream(ctx, "no-such-peer", "echo", nil)
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown peer: %v", err)
	}
	_, err = a.AcceptStream(ctx, "bad service!")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "accept.service") {
		t.Errorf("bad accept service: %v", err)
	}
	for _, err := range a.WatchHealth(ctx, invmux.WithQualityInterval(time.Millisecond)) {
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "quality_interval") {
			t.Errorf("watch with a 1 ms interval: %v", err)
		}
		break
	}
	err = a.RemoveLink(ctx, "0123456789abcdef0123456789abcdef", "1")
	if status.Code(err) != codes.NotFound {
		t.Errorf("remove link of an unknown session: %v", err)
	}
}

func TestSessionsAndLinks(t *testing.T) {
	a := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sessions, err := a.ListSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || sessions[0].GetPeer() != peer || !sessions[0].GetDialer() {
		t.Fatalf("sessions: %v", sessions)
	}
	links, err := a.ListLinks(ctx, sessions[0].GetSessionId())
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 {
		t.Fatalf("links: %v", links)
	}
}

func TestWaitForSidecarTimesOutClearly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := invmux.New(invmux.WithEndpoint(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err = c.WaitForSidecar(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("want a deadline error naming %s, got %v", addr, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}
