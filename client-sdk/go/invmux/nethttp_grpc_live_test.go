package invmux_test

// Code written for connections, over InvMux streams: net/http and gRPC-Go servers on pod-b's Listener, their
// clients dialing through pod-a's Dialer.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestHTTPServerAndClientOverStreams(t *testing.T) {
	const size = 16 << 20
	a, b := client(t, endpointA), client(t, endpointB)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s, from pod-b", r.RemoteAddr)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// the body streams back as it comes, so both directions are in flight at once
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Trailer", "X-Sha256")
		h := sha256.New()
		if _, err := io.Copy(w, io.TeeReader(r.Body, h)); err != nil {
			return
		}
		w.Header().Set("X-Sha256", hex.EncodeToString(h.Sum(nil)))
	})
	srv := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(b.Listen("go-http")) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("http.Server.Serve returned %v", err)
		}
	}()

	transport := &http.Transport{DialContext: a.Dialer(peer).DialContext}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 2 * time.Minute}

	resp, err := hc.Get("http://go-http/hello") // dials "go-http:80": pod-b's service go-http
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "hello pod-a/") ||
		!strings.HasSuffix(string(body), ", from pod-b") {
		t.Fatalf("GET /hello: %v %q, %v", resp.Status, body, err)
	}

	sent := sha256.New()
	req, err := http.NewRequest(http.MethodPost, "http://go-http/echo",
		io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{23}), size), sent))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	echo := sha256.New()
	n, err := io.Copy(echo, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /echo: %v, %d bytes read back, %v", resp.Status, n, err)
	}
	want := hex.EncodeToString(sent.Sum(nil))
	if n != size || hex.EncodeToString(echo.Sum(nil)) != want || resp.Trailer.Get("X-Sha256") != want {
		t.Fatalf("POST /echo of %d bytes: %d back, sha256 sent %s, echoed %x, the server's %s", size, n, want,
			echo.Sum(nil), resp.Trailer.Get("X-Sha256"))
	}
}

func TestGRPCServerAndClientOverStreams(t *testing.T) {
	a, b := client(t, endpointA), client(t, endpointB)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checks := health.NewServer()
	checks.SetServingStatus("invmux.test", healthpb.HealthCheckResponse_SERVING)
	server := grpc.NewServer()
	healthpb.RegisterHealthServer(server, checks)
	served := make(chan error, 1)
	go func() { served <- server.Serve(b.Listen("go-grpc")) }()
	defer func() {
		server.Stop()
		if err := <-served; err != nil {
			t.Errorf("grpc.Server.Serve returned %v", err)
		}
	}()

	conn, err := grpc.NewClient("passthrough:///go-grpc", grpc.WithContextDialer(a.Dialer(peer).Dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)

	r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "invmux.test"})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v, %v", r, err)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no-such-service"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown service: want NotFound, got %v", err)
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "invmux.test"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch: want SERVING first, got %v, %v", r, err)
	}
	checks.SetServingStatus("invmux.test", healthpb.HealthCheckResponse_NOT_SERVING)
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch: want NOT_SERVING after the change, got %v, %v", r, err)
	}
	// many calls at once, each with a payload, share the one stream's HTTP/2 connection
	big := bytes.Repeat([]byte("x"), 1<<20)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: string(big)})
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; status.Code(err) != codes.NotFound {
			t.Fatalf("Check with a 1 MiB name: want NotFound, got %v", err)
		}
	}
}
