package tunnel

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/hashicorp/yamux"
)

// writeLog records each Write to the connection under a FrameConn.
type writeLog struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// TestFrameConnOneWritePerDataFrame runs a real yamux session over a
// FrameConn: every data frame with a body reaches the connection in one
// write with its header, and the other side reads the same bytes.
func TestFrameConnOneWritePerDataFrame(t *testing.T) {
	c1, c2 := net.Pipe()
	log := &writeLog{Conn: c1}
	cfg := Config(slog.New(slog.DiscardHandler))
	cfg.EnableKeepAlive = false
	client, err := yamux.Client(FrameConn(log), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := yamux.Server(c2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	msgs := [][]byte{[]byte("hello"), bytes.Repeat([]byte("x"), 100_000), []byte("bye")}
	got := make(chan []byte, 1)
	go func() {
		s, err := server.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(s)
		got <- b
	}()
	s, err := client.Open()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := s.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, bytes.Join(msgs, nil)) {
		t.Fatalf("the other side read %d bytes, want %d", len(b), len(bytes.Join(msgs, nil)))
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	bodies := 0
	for _, w := range log.writes {
		if len(w) < frameHeaderSize {
			t.Fatalf("a write of %d bytes: not a whole frame", len(w))
		}
		if w[1] == frameTypeData && len(w) > frameHeaderSize {
			bodies++
		}
		if w[1] == frameTypeData && len(w) == frameHeaderSize && w[11]|w[10]|w[9]|w[8] != 0 {
			t.Fatalf("a data frame's header written without its body: % x", w)
		}
	}
	if bodies < len(msgs) {
		t.Fatalf("%d writes carried a data frame's body, want at least %d", bodies, len(msgs))
	}
}
