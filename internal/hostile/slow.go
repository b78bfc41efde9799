package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// SlowBody plays slowloris on conn: it sends a POST to path whose headers
// go out at once and whose body of n bytes (JSON whitespace) trickles out
// one byte every interval, holding the server's connection open. It stops
// when the server answers or closes the connection, or once all n bytes are
// sent, and returns how many body bytes went out and the server's status
// line ("" when it closed without answering). It closes conn.
func SlowBody(conn net.Conn, path, token string, n int, interval time.Duration) (sent int, status string) {
	defer conn.Close()
	hdr := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: wharf\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, n)
	if token != "" {
		hdr += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, hdr+"\r\n"); err != nil {
		return 0, ""
	}
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for sent < n {
		select {
		case status = <-answered:
			return sent, status
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{' '}); err != nil {
			break
		}
		sent++
	}
	_ = conn.SetReadDeadline(time.Now().Add(interval))
	return sent, <-answered
}

// IdleKeepAlive sends one GET of path on conn with keep-alive, reads the
// answer, then stays silent for up to wait. It reports whether the server
// closed the idle connection in that time. It closes conn.
func IdleKeepAlive(conn net.Conn, path string, wait time.Duration) (closedByServer bool, err error) {
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: wharf\r\n\r\n"); err != nil {
		return false, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.Close {
		return false, errors.New("the server closed the connection after the answer: not a keep-alive test")
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	_, err = br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, nil // still open after wait
	}
	return true, nil
}
