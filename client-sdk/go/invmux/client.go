// Package invmux is the Go client of the InvMux sidecar: it opens and accepts byte streams that the sidecar
// carries over its bundle of links to a peer, manages links and sessions, and watches their health, all over
// the sidecar's gRPC API (package invmux.v1, stubs in the v1 sub-package).
//
// The endpoint comes from $INVMUX_GRPC_ENDPOINT (default 127.0.0.1:7701; "unix:///path" for a Unix socket)
// and the API token from $INVMUX_API_TOKEN; WithEndpoint and WithToken override them.
package invmux

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/invmux/invmux/client-sdk/go/invmux/v1"
)

// DefaultEndpoint is the sidecar API address used when neither WithEndpoint nor $INVMUX_GRPC_ENDPOINT is set.
const DefaultEndpoint = "127.0.0.1:7701"

// Environment variables read by New.
const (
	EnvEndpoint = "INVMUX_GRPC_ENDPOINT"
	EnvToken    = "INVMUX_API_TOKEN"
)

// Client talks to one sidecar. It is safe for concurrent use; Close releases its connection.
type Client struct {
	endpoint string
	conn     *grpc.ClientConn

	// Streams, Connections, Monitor and Forward are the raw stubs, for calls this package does not wrap.
	Streams     pb.StreamServiceClient
	Connections pb.ConnectionServiceClient
	Monitor     pb.MonitorServiceClient
	Forward     pb.ForwardServiceClient
	health      healthpb.HealthClient
}

type options struct {
	endpoint    string
	token       string
	dialOptions []grpc.DialOption
}

// Option configures New.
type Option func(*options)

// WithEndpoint sets the sidecar API address, "host:port" or "unix:///path".
func WithEndpoint(endpoint string) Option { return func(o *options) { o.endpoint = endpoint } }

// WithToken sets the API token sent as "authorization: Bearer <token>" ("" sends none).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithDialOptions adds gRPC dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// New creates a client; it does not wait for the sidecar (see WaitForSidecar).
func New(opts ...Option) (*Client, error) {
	o := options{endpoint: os.Getenv(EnvEndpoint), token: os.Getenv(EnvToken)}
	if o.endpoint == "" {
		o.endpoint = DefaultEndpoint
	}
	for _, opt := range opts {
		opt(&o)
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// A local sidecar that restarts should be found again quickly.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
	}
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer(o.token)))
	}
	dial = append(dial, typedErrors()...) // every call's failures are *Error (errors.go)
	dial = append(dial, o.dialOptions...)
	conn, err := grpc.NewClient(o.endpoint, dial...)
	if err != nil {
		return nil, fmt.Errorf("invmux: bad endpoint %q: %w", o.endpoint, err)
	}
	return &Client{
		endpoint:    o.endpoint,
		conn:        conn,
		Streams:     pb.NewStreamServiceClient(conn),
		Connections: pb.NewConnectionServiceClient(conn),
		Monitor:     pb.NewMonitorServiceClient(conn),
		Forward:     pb.NewForwardServiceClient(conn),
		health:      healthpb.NewHealthClient(conn),
	}, nil
}

// Endpoint is the sidecar API address this client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// Close closes the connection; open streams fail.
func (c *Client) Close() error { return c.conn.Close() }

// bearer sends the API token on every call (the API is plaintext on loopback or a Unix socket).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// WaitForSidecar polls the sidecar's gRPC health service ("readiness") until it is SERVING: its listeners are
// bound and every configured peer has a session. It returns an error naming the endpoint and the last answer
// when ctx ends first.
func (c *Client) WaitForSidecar(ctx context.Context) error {
	delay := 50 * time.Millisecond
	var last string
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		r, err := c.health.Check(attempt, &healthpb.HealthCheckRequest{Service: "readiness"})
		cancel()
		switch {
		case err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING:
			return nil
		case err == nil:
			last = "readiness " + r.GetStatus().String()
		default:
			last = err.Error()
			c.conn.ResetConnectBackoff()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("invmux: sidecar at %s not ready: %w (last answer: %s; is the sidecar running, and is %s right?)",
				c.endpoint, ctx.Err(), last, EnvEndpoint)
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// DialLink dials one more link to a peer (creating the session with it if there is none) and returns it.
func (c *Client) DialLink(ctx context.Context, peer, address string) (*pb.Link, error) {
	r, err := c.Connections.DialLink(ctx, &pb.DialLinkRequest{Peer: peer, Address: address})
	if err != nil {
		return nil, err
	}
	return r.GetLink(), nil
}

// ListLinks lists the links of one session, or of all sessions when sessionID is "", following every page.
func (c *Client) ListLinks(ctx context.Context, sessionID string) ([]*pb.Link, error) {
	var all []*pb.Link
	token := ""
	for {
		r, err := c.Connections.ListLinks(ctx, &pb.ListLinksRequest{SessionId: sessionID, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		all = append(all, r.GetLinks()...)
		if token = r.GetNextPageToken(); token == "" {
			return all, nil
		}
	}
}

// RemoveLink removes a link gracefully (its chunks in flight are delivered first).
func (c *Client) RemoveLink(ctx context.Context, sessionID, linkID string) error {
	_, err := c.Connections.DeleteLink(ctx, &pb.DeleteLinkRequest{SessionId: sessionID, LinkId: linkID})
	return err
}

// ListSessions lists every session, following every page.
func (c *Client) ListSessions(ctx context.Context) ([]*pb.Session, error) {
	var all []*pb.Session
	token := ""
	for {
		r, err := c.Connections.ListSessions(ctx, &pb.ListSessionsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		all = append(all, r.GetSessions()...)
		if token = r.GetNextPageToken(); token == "" {
			return all, nil
		}
	}
}

// errClosed is what a closed Stream's calls return: it wraps net.ErrClosed, as a closed connection's do.
var errClosed = fmt.Errorf("invmux: stream closed: %w", net.ErrClosed)
