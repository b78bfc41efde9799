package main

// The -floor reference: no HTTP at all, bytes copied both ways between each
// client connection and a backend connection of its own (round robin at
// accept), with two goroutines per connection. It does the reads and
// writes any Go proxy must do for one request and its response, and
// nothing else: what is left between it and HAProxy is Go's network
// poller and scheduler, not the HTTP library on top.

import (
	"io"
	"net"
	"sync/atomic"

	"github.com/wharfhq/wharf/api"
)

type floorServer struct {
	ln net.Listener
}

func (s *floorServer) Close() { _ = s.ln.Close() }

func serveFloor(addr string, backends []api.Backend) (*floorServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var next atomic.Uint64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b := backends[next.Add(1)%uint64(len(backends))]
			go relay(c, b.Address)
		}
	}()
	return &floorServer{ln: ln}, nil
}

// relay copies c to a new connection to addr and back until either ends.
func relay(c net.Conn, addr string) {
	defer c.Close()
	bc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer bc.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(bc, c)
		_ = bc.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, bc)
	_ = c.Close()
	<-done
}
