package apiserver

import (
	"errors"
	"net/http"
	"time"

	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/throttle"
)

// retryAfterError is an error that says when the client may try again: the
// API sends it as the Retry-After header.
type retryAfterError struct {
	error
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.error }

// unavailableRetry is the Retry-After of a 503 that does not say better:
// an etcd leader election normally ends within a few seconds.
const unavailableRetry = 5 * time.Second

// retryAfterSeconds is the Retry-After value, in whole seconds (at least 1),
// for an error answered 429 or 503.
func retryAfterSeconds(err error) int {
	d := unavailableRetry
	var ra *retryAfterError
	var rl *domain.RateLimitedError
	switch {
	case errors.As(err, &ra):
		d = ra.after
	case errors.As(err, &rl):
		d = rl.RetryAfter()
	}
	return max(1, int((d+time.Second-1)/time.Second))
}

// tooManyFailures is the answer to a source that is refused for wait.
func tooManyFailures(wait time.Duration, what string) error {
	return &retryAfterError{
		error: newErr(errdefs.ErrTooManyRequests, "too many failed %s from this address; try again in %s", what, wait.Round(time.Second)),
		after: wait,
	}
}

// authenticateThrottled is authenticate behind the failure throttle: a
// source that sent too many wrong tokens is refused with 429 without a
// store read, and every wrong or malformed token it sends counts. A
// request without any token does not count: it guesses nothing.
func (s *Server) authenticateThrottled(r *http.Request) (domain.Actor, error) {
	src := throttle.Source(r.RemoteAddr)
	if wait, blocked := s.cfg.Throttle.Blocked(src); blocked {
		return domain.Actor{}, tooManyFailures(wait, "authentications")
	}
	tok, err := s.authenticate(r)
	if err != nil && errors.Is(err, errdefs.ErrUnauthorized) && r.Header.Get("Authorization") != "" {
		if wait := s.cfg.Throttle.Fail(src); wait > 0 {
			s.log.Warn("refusing an address that sent too many wrong API tokens", "source", src, "for", wait)
		}
	}
	return tok, err
}

// joinAllowed refuses, with 429 and before its join token is looked at, a
// join from a source that failed too often.
func (s *Server) joinAllowed(r *http.Request) error {
	if wait, blocked := s.cfg.Throttle.Blocked(throttle.Source(r.RemoteAddr)); blocked {
		return tooManyFailures(wait, "joins")
	}
	return nil
}

// joinFailed counts a join the Joiner refused as unauthorized or forbidden
// (a wrong, expired or used-up join token, a failed proof of identity)
// against its source. Other failures (a bad request, the store) do not
// count: they guess nothing.
func (s *Server) joinFailed(r *http.Request, err error) {
	if !errors.Is(err, errdefs.ErrUnauthorized) && !errors.Is(err, errdefs.ErrForbidden) {
		return
	}
	src := throttle.Source(r.RemoteAddr)
	if wait := s.cfg.Throttle.Fail(src); wait > 0 {
		s.log.Warn("refusing an address that failed to join too often", "source", src, "for", wait)
	}
}
