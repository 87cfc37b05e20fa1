package invmux_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/invmux/invmux/client-sdk/go/invmux/v1"
)

// pausableProxy forwards TCP connections to a target; pause cuts those open and holds new ones until resume.
type pausableProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	open   []net.Conn // guarded by mu
	conns  int        // connections accepted; guarded by mu
	paused chan struct{}
}

func newPausableProxy(t *testing.T, target string) *pausableProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pausableProxy{l: l, target: target}
	t.Cleanup(func() { l.Close(); p.cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *pausableProxy) serve(c net.Conn) {
	p.mu.Lock()
	held := p.paused
	p.conns++
	p.mu.Unlock()
	if held != nil {
		<-held
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.open = append(p.open, c, up)
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	go func() { io.Copy(c, up); c.Close() }()
}

func (p *pausableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.open {
		c.Close()
	}
	p.open = nil
}

func (p *pausableProxy) pause() {
	p.mu.Lock()
	p.paused = make(chan struct{})
	p.mu.Unlock()
	p.cut()
}

func (p *pausableProxy) resume() {
	p.mu.Lock()
	close(p.paused)
	p.paused = nil
	p.mu.Unlock()
}

// A watch that breaks while the sidecar stays up resumes where it left off: the events missed in between come
// next, numbered on from the last one seen, and no new snapshot.
func TestAWatchThatBreaksResumesWithTheEventsItMissed(t *testing.T) {
	ports := strings.Fields(os.Getenv("INVMUX_LINK_PORTS"))
	if len(ports) == 0 {
		t.Fatal("INVMUX_LINK_PORTS (pod-b's peer-link ports, from sidecars.env) is not set")
	}
	proxy := newPausableProxy(t, endpointA)
	watched := client(t, proxy.l.Addr().String())
	direct := client(t, endpointA)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var last *pb.WatchHealthResponse
	var link *pb.Link
	paused := false
	for ev, err := range watched.WatchHealth(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if last == nil { // the snapshot: break the watch and make events it will miss
			if ev.GetSnapshot() == nil || ev.GetEpoch() == "" {
				t.Fatalf("first message: want a snapshot with an epoch, got %v", ev)
			}
			last = ev
			proxy.pause()
			paused = true
			var derr error
			if link, derr = direct.DialLink(ctx, "go-resume", fmt.Sprintf("tcp://127.0.0.1:%s", ports[0])); derr != nil {
				t.Fatal(derr)
			}
			proxy.resume()
			continue
		}
		if ev.GetSnapshot() != nil {
			t.Fatalf("after the break: want the missed events, got a new snapshot (resync %v)",
				ev.GetSnapshot().GetResyncReason())
		}
		if ev.GetSequence() != last.GetSequence()+1 || ev.GetEpoch() != last.GetEpoch() {
			t.Fatalf("after event %d of %s: got event %d of %s", last.GetSequence(), last.GetEpoch(),
				ev.GetSequence(), ev.GetEpoch())
		}
		last = ev
		if s := ev.GetSession(); s != nil && s.GetSession().GetSessionId() == link.GetSessionId() &&
			s.GetKind() == pb.SessionEvent_KIND_STARTED {
			break // the new session's start, missed while the watch was cut, was replayed
		}
	}
	if !paused || link == nil {
		t.Fatal("the watch ended before it was broken")
	}
	proxy.mu.Lock()
	conns := proxy.conns
	proxy.mu.Unlock()
	if conns < 2 {
		t.Fatalf("the client connected %d time(s) through the proxy: the watch was never broken", conns)
	}
	if _, err := direct.Connections.CloseSession(ctx, &pb.CloseSessionRequest{SessionId: link.GetSessionId()}); err != nil {
		t.Fatal(err)
	}
}
