package tunnel

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

const testSilence = 300 * time.Millisecond

// serverEnd is a gateway-like end of a yamux session over c: no keepalive,
// closed once it receives nothing for testSilence.
func serverEnd(t *testing.T, c net.Conn) *yamux.Session {
	t.Helper()
	mux, err := yamux.Server(FrameConn(CloseWhenSilent(c, testSilence)), ServerConfig(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mux.Close() })
	return mux
}

// TestSilentPeerSessionIsClosed: the peer vanished (it neither reads nor
// writes, nor closes: a host powered off, a link cut without FIN or RST);
// the session closes on its own, once it has received nothing for the
// bound, with ErrSilent.
func TestSilentPeerSessionIsClosed(t *testing.T) {
	c1, c2 := net.Pipe()
	defer func() { _ = c2.Close() }()
	start := time.Now()
	mux := serverEnd(t, c1)
	select {
	case <-mux.CloseChan():
	case <-time.After(testSilence + 3*time.Second):
		t.Fatalf("the session of a silent peer is still open %s after it went silent (bound %s)", time.Since(start), testSilence)
	}
	if took := time.Since(start); took < testSilence {
		t.Errorf("closed after %s, before the bound %s", took, testSilence)
	}
	if _, err := mux.Accept(); !errors.Is(err, ErrSilent) {
		t.Errorf("the session ended with %v, want ErrSilent", err)
	}
}

// TestActivePeerSessionStays: a peer that sends something more often than
// the bound (requests on a stream, yamux pings, as an agent's heartbeats
// and keepalives) keeps its session for many times the bound, and the
// server end answers its pings though it sends none of its own.
func TestActivePeerSessionStays(t *testing.T) {
	c1, c2 := net.Pipe()
	srv := serverEnd(t, c1)
	cfg := Config(slog.New(slog.DiscardHandler))
	cfg.EnableKeepAlive = false // this test sends what it wants
	cli, err := yamux.Client(FrameConn(c2), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	go func() {
		for {
			st, err := srv.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, st) }()
		}
	}()
	st, err := cli.Open()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(6 * testSilence)
	for i := 0; time.Now().Before(deadline); i++ {
		if i%2 == 0 {
			if _, err := st.Write([]byte("heartbeat")); err != nil {
				t.Fatalf("write after %d beats: %v", i, err)
			}
		} else if _, err := cli.Ping(); err != nil {
			t.Fatalf("ping after %d beats: %v", i, err)
		}
		time.Sleep(testSilence / 3)
	}
	select {
	case <-srv.CloseChan():
		_, err := srv.Accept()
		t.Fatalf("the session of an active peer was closed: %v", err)
	default:
	}
}

// TestServerConfigHasNoKeepalive: the gateway's end runs no keepalive
// loop (a goroutine per session); the agent's end keeps its own.
func TestServerConfigHasNoKeepalive(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if ServerConfig(log).EnableKeepAlive {
		t.Error("ServerConfig enables yamux's keepalive")
	}
	if c := Config(log); !c.EnableKeepAlive || c.KeepAliveInterval != KeepAliveInterval {
		t.Errorf("Config: keepalive %v every %s, want on every %s", c.EnableKeepAlive, c.KeepAliveInterval, KeepAliveInterval)
	}
}

// BenchmarkRead: what CloseWhenSilent adds to a read of a TCP connection
// (a clock read and a deadline reset): small writes on loopback, each
// read as it arrives.
func BenchmarkRead(b *testing.B) {
	for _, wrapped := range []bool{false, true} {
		name := "plain"
		if wrapped {
			name = "CloseWhenSilent"
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = ln.Close() }()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer func() { _ = c.Close() }()
				msg := make([]byte, 64)
				for {
					if _, err := c.Write(msg); err != nil {
						return
					}
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			if wrapped {
				c = CloseWhenSilent(c, time.Minute)
			}
			buf := make([]byte, 64)
			b.ResetTimer()
			for range b.N {
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
