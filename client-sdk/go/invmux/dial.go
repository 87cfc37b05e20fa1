package invmux

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// Dialer opens streams to the services of one peer as net.Conns, for code that dials connections: its
// DialContext fits http.Transport.DialContext, its Dial fits grpc.WithContextDialer.
//
//	d := client.Dialer("pod-b")
//	httpClient := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
//	httpClient.Get("http://web/")                              // a stream to pod-b's service "web"
//	conn, err := grpc.NewClient("passthrough:///api",          // a stream to pod-b's service "api"
//		grpc.WithContextDialer(d.Dial), grpc.WithTransportCredentials(insecure.NewCredentials()))
//
// (gRPC's default "dns" resolver would look the name up in DNS: "passthrough:///" hands it to Dial as it is.)
type Dialer struct {
	client *Client
	peer   string
	opts   []OpenOption
}

// Dialer returns a Dialer of streams to peer (a configured peer name or a session id), opened with opts.
func (c *Client) Dialer(peer string, opts ...OpenOption) *Dialer {
	return &Dialer{client: c, peer: peer, opts: opts}
}

// DialContext opens a stream to the peer's service that address names, as OpenStream does (ctx bounds the
// opening only). address is the service name, or "service:port" as http.Transport passes a URL's host and port:
// then the host part is the service and the port is ignored. network is ignored too (http.Transport passes
// "tcp"). The error of a failed opening is a *net.OpError wrapping OpenStream's (errors.As finds the *Error).
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	service, err := serviceOf(address)
	if err != nil {
		return nil, err
	}
	s, err := d.client.OpenStream(ctx, d.peer, service, nil, d.opts...)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: Network, Addr: Addr{Peer: d.peer, Service: service}, Err: err}
	}
	return s, nil
}

// Dial is DialContext for dialers that are given no network, such as grpc.WithContextDialer's.
func (d *Dialer) Dial(ctx context.Context, address string) (net.Conn, error) {
	return d.DialContext(ctx, Network, address)
}

// serviceOf is the service an address names for Dialer: the address itself, or the host part of "host:port"
// ("web:80" and "[web]:80" name "web"). An empty service, or a host:port that does not parse, is an error naming
// the address.
func serviceOf(address string) (string, error) {
	service := address
	if strings.Contains(address, ":") {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return "", fmt.Errorf("invmux: dial %q: want a service name or service:port (the port is ignored): %w",
				address, err)
		}
		service = host
	}
	if service == "" {
		return "", fmt.Errorf("invmux: dial %q: no service name (want a service name or service:port)", address)
	}
	return service, nil
}
