package invmux

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Network is the network name of InvMux addresses (Addr.Network).
const Network = "invmux"

// Addr is one end of a Stream, or a Listener's service, as a net.Addr. Peer and Service name an end by the peer
// (as its sidecar is known here) and the service; SessionID and StreamID name one stream, as an ephemeral port
// does. Its String joins the fields that are set with "/": "pod-b/echo", "pod-a/<session id>/<stream id>", "echo".
type Addr struct {
	Peer      string
	Service   string
	SessionID string
	StreamID  uint32
}

// Network is always "invmux".
func (Addr) Network() string { return Network }

func (a Addr) String() string {
	parts := make([]string, 0, 4)
	for _, p := range []string{a.Peer, a.Service} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if a.SessionID != "" {
		parts = append(parts, a.SessionID, strconv.FormatUint(uint64(a.StreamID), 10))
	}
	return strings.Join(parts, "/")
}

// deadline is one direction's deadline of a Stream: a channel closed once the time set has passed, which a
// blocked call selects on, so that a deadline set while the call waits takes effect too. Setting a later time (or
// none) after it passed makes a new channel; the zero value has no deadline.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer   // closes expired at the time set; nil when no time is ahead
	expired chan struct{} // made on first use
}

// wait is closed once the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.channel()
}

// passed says whether the deadline has passed.
func (d *deadline) passed() bool {
	select {
	case <-d.wait():
		return true
	default:
		return false
	}
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.channel() // the timer fired: its function closes the channel, if it has not yet
	}
	d.timer = nil
	expired := d.channel()
	closed := false
	select {
	case <-expired:
		closed = true
	default:
	}
	ahead := time.Until(t)
	if t.IsZero() || ahead > 0 {
		if closed {
			expired = make(chan struct{})
			d.expired = expired
		}
		if !t.IsZero() {
			d.timer = time.AfterFunc(ahead, func() { close(expired) })
		}
		return
	}
	if !closed {
		close(expired)
	}
}

// channel is expired, made on first use. Under mu.
func (d *deadline) channel() chan struct{} {
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	return d.expired
}
