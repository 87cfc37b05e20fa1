package invmux

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/invmux/invmux/client-sdk/go/invmux/v1"
)

// WatchOption configures WatchHealth.
type WatchOption func(*pb.WatchHealthRequest)

// WithQualityInterval asks for a quality sample of every link at this interval (at least 100 ms).
func WithQualityInterval(d time.Duration) WatchOption {
	return func(r *pb.WatchHealthRequest) { r.QualityInterval = durationpb.New(d) }
}

// WithSession watches only one session.
func WithSession(sessionID string) WatchOption {
	return func(r *pb.WatchHealthRequest) { r.SessionId = sessionID }
}

const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// WatchHealth streams the sidecar's health events: first a snapshot of every session and link, then link_up,
// link_down, state_change, quality and session events as they happen.
//
//	for ev, err := range client.WatchHealth(ctx, invmux.WithQualityInterval(time.Second)) {
//		if err != nil { return err }   // a permanent error (e.g. UNAUTHENTICATED); the loop ends after it
//		...
//	}
//
// When the watch breaks (the sidecar restarts, or the watcher fell too far behind), it is opened again with
// backoff (100 ms doubling to 5 s) and resumes after the last event yielded (its epoch and sequence): the sidecar
// replays the events missed, or starts with a snapshot whose ResyncReason says why it cannot (the events expired,
// or the sidecar restarted); while the sidecar is unreachable, the watch waits for it (wait-for-ready). It ends
// when ctx ends or the loop breaks.
// Events are received only as fast as the loop takes them.
func (c *Client) WatchHealth(ctx context.Context, opts ...WatchOption) iter.Seq2[*pb.WatchHealthResponse, error] {
	req := &pb.WatchHealthRequest{}
	for _, o := range opts {
		o(req)
	}
	return func(yield func(*pb.WatchHealthResponse, error) bool) {
		req := proto.Clone(req).(*pb.WatchHealthRequest) // each range resumes its own watch
		delay := watchMinBackoff
		for {
			wctx, cancel := context.WithCancel(ctx)
			// wait-for-ready: a watch opened while the sidecar is down (or restarting) starts once it is back
			call, err := c.Monitor.WatchHealth(wctx, req, grpc.WaitForReady(true))
			for err == nil {
				var ev *pb.WatchHealthResponse
				if ev, err = call.Recv(); err == nil {
					// the sidecar answers again; the watch resumes after the last numbered message (quality samples are not)
					delay = watchMinBackoff
					if ev.GetSequence() > 0 || ev.GetSnapshot() != nil {
						req.ResumeEpoch, req.ResumeAfterSequence = ev.GetEpoch(), ev.GetSequence()
					}
					if !yield(ev, nil) {
						cancel()
						return
					}
				}
			}
			cancel()
			if ctx.Err() != nil {
				return
			}
			if !retryable(err) {
				yield(nil, err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, watchMaxBackoff)
			c.conn.ResetConnectBackoff()
		}
	}
}

// retryable: the watch broke for a reason that a new watch may not have (as opposed to a bad request or token).
func retryable(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.ResourceExhausted, codes.Internal, codes.Unknown,
		codes.Aborted, codes.DeadlineExceeded:
		return true
	}
	return false
}
