// Command invmux-echo is a small InvMux app for tests and demos, and the Go side of the cross-language tests.
//
//	invmux-echo open   -peer pod-b -service echo -bytes 16777216   # send N pseudo-random bytes, read the echo back
//	invmux-echo accept -service echo                               # accept one stream, echo it back
//
// Both print one line: "RESULT role=open bytes=N sent_sha256=H echo_sha256=H" resp. "RESULT role=accept bytes=N
// sha256=H", and exit 1 if anything failed (for open: also if the echo differs). The sidecar is
// $INVMUX_GRPC_ENDPOINT (token $INVMUX_API_TOKEN).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/invmux/invmux/client-sdk/go/invmux"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: invmux-echo open|accept [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	peer := fs.String("peer", "pod-b", "peer to open the stream to")
	service := fs.String("service", "echo", "service name")
	n := fs.Int64("bytes", 16<<20, "bytes to send (open)")
	seed := fs.Uint64("seed", 1, "seed of the payload (open)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	_ = fs.Parse(os.Args[2:])

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c, err := invmux.New()
	if err != nil {
		fail(err)
	}
	defer c.Close()
	if err := c.WaitForSidecar(ctx); err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "open":
		err = open(ctx, c, *peer, *service, *n, *seed)
	case "accept":
		err = accept(ctx, c, *service)
	default:
		err = fmt.Errorf("unknown mode %q (open|accept)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "invmux-echo:", err)
	os.Exit(1)
}

// Payload is n bytes from a ChaCha8 generator with the given seed.
func payload(n int64, seed uint64) io.Reader {
	var key [32]byte
	for i := 0; i < 8; i++ {
		key[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(key), n)
}

func open(ctx context.Context, c *invmux.Client, peer, service string, n int64, seed uint64) error {
	s, err := c.OpenStream(ctx, peer, service, map[string]string{"lang": "go"})
	if err != nil {
		return err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	sent := sha256.New()
	werr := make(chan error, 1)
	go func() { // write while the echo is read back, or both sides stall on full windows
		_, err := io.Copy(io.MultiWriter(s, sent), payload(n, seed))
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	echo := sha256.New()
	got, err := io.Copy(echo, s)
	if err != nil {
		return fmt.Errorf("reading the echo: %w", err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	sh, eh := hex.EncodeToString(sent.Sum(nil)), hex.EncodeToString(echo.Sum(nil))
	fmt.Printf("RESULT role=open bytes=%d sent_sha256=%s echo_sha256=%s\n", got, sh, eh)
	if got != n || sh != eh {
		return errors.New("the echo differs from what was sent")
	}
	return nil
}

func accept(ctx context.Context, c *invmux.Client, service string) error {
	s, err := c.AcceptStream(ctx, service)
	if err != nil {
		return err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(s, h), s)
	if err != nil {
		return err
	}
	if err := s.CloseWrite(); err != nil {
		return err
	}
	// wait for the opener to finish reading: the call ends after the peer's end of stream (already seen)
	fmt.Printf("RESULT role=accept bytes=%d sha256=%s peer=%s service=%s\n", n, hex.EncodeToString(h.Sum(nil)),
		s.Info().GetPeer(), s.Info().GetService())
	return nil
}
