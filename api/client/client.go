// Package client is the Go client of Wharf's REST API, used by the CLI and by
// tests. It speaks only the wire types of package api and decides on errors
// by their wire code, never by their text.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api"
)

// Client calls one Wharf server.
type Client struct {
	base    string
	token   string
	org     string
	http    *http.Client
	timeout time.Duration // of each non-streaming call; 0 for none
}

// DefaultTimeout bounds each non-streaming call when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Options configure a client.
type Options struct {
	Addr  string // https://host:port
	Token string
	// Org, when set, is sent as the Wharf-Org header: the organization
	// the calls act in, for a user who belongs to several.
	Org    string
	CACert []byte // PEM; when empty the system roots are used
	// Timeout bounds each non-streaming call, from sending the request
	// to reading the whole answer: DefaultTimeout when 0, none when
	// negative. Streams (FollowEvents, Stream for logs) and Exec, whose
	// answers take as long as what they follow or run, are bounded by
	// their context alone.
	Timeout time.Duration
}

// New makes a client.
func New(o Options) (*Client, error) {
	if o.Addr == "" {
		return nil, errors.New("no server address: pass --addr, set WHARF_ADDR, or run `wharf up`")
	}
	u, err := url.Parse(o.Addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server address %q: want https://host:port", o.Addr)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if len(o.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CACert) {
			return nil, errors.New("CA certificate: no PEM certificate found")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	timeout := o.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = 0
	}
	return &Client{base: strings.TrimSuffix(o.Addr, "/"), token: o.Token, org: o.Org, http: &http.Client{Transport: tr}, timeout: timeout}, nil
}

// Error is an error answered by the server.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Message }

// IsCode reports whether err is a server error with that wire code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Do sends a request with a JSON body (nil for none) and decodes the JSON
// answer into out (nil to discard), within the client's timeout.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.call(ctx, c.timeout, method, path, body, out)
}

// errCallTimeout is the cause of a context that a call's timeout ended.
var errCallTimeout = errors.New("call timed out")

// TimeoutError is a call that had no whole answer within the client's
// Timeout. It is a context.DeadlineExceeded for errors.Is.
type TimeoutError struct {
	Addr, Method, Path string
	Timeout            time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the Wharf server at %s did not answer %s %s within %s", e.Addr, e.Method, e.Path, e.Timeout)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// call is Do bounded by timeout (0: by ctx alone).
func (c *Client) call(ctx context.Context, timeout time.Duration, method, path string, body, out any) error {
	if timeout <= 0 {
		return c.roundTrip(ctx, method, path, body, out)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errCallTimeout)
	defer cancel()
	err := c.roundTrip(ctx, method, path, body, out)
	if err != nil && errors.Is(context.Cause(ctx), errCallTimeout) {
		return &TimeoutError{Addr: c.base, Method: method, Path: path, Timeout: timeout}
	}
	return err
}

func (c *Client) roundTrip(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Stream sends a GET and returns the open body of a successful answer. It
// is bounded by ctx alone, not by the client's timeout.
func (c *Client) Stream(ctx context.Context, path string, header http.Header) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, header)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *Client) send(ctx context.Context, method, path string, body any, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.org != "" {
		req.Header.Set(api.OrgHeader, c.org)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the Wharf server at %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer func() { _ = resp.Body.Close() }()
		return nil, decodeError(resp)
	}
	return resp, nil
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = resp.Status
	}
	return &Error{Status: resp.StatusCode, Code: api.CodeInternal, Message: fmt.Sprintf("server answered %s: %s", resp.Status, msg)}
}
