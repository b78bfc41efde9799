package routing

// The checks of RouteOptions.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// balances are the algorithms of RouteOptions.Balance.
var balances = []string{api.BalanceRoundRobin, api.BalanceLeastConn, api.BalanceSource}

const (
	maxWeight  = 1_000_000
	maxDrainMS = 3_600_000 // an hour
)

// invalid is errdefs.Invalid: a user's mistake in field.
func invalid(field, format string, args ...any) error {
	return errdefs.Invalid(field, format, args...)
}

// checkCookie accepts an HTTP cookie name (RFC 6265's token).
func checkCookie(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("cookie name is longer than 64 characters")
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return fmt.Errorf("cookie name %q: %q is not allowed (letters, digits and !#$%%&'*+-.^_`|~)", name, rune(c))
		}
	}
	return nil
}

// checkHTTPCheck accepts "/path", "METHOD /path" and "OPTIONS *".
func checkHTTPCheck(check string) error {
	method, target, hasMethod := strings.Cut(check, " ")
	if !hasMethod {
		method, target = "GET", check
	}
	for _, c := range []byte(method) {
		if c < 'A' || c > 'Z' {
			return fmt.Errorf("method %q must be upper-case letters, such as GET", method)
		}
	}
	if method == "" || len(method) > 16 {
		return fmt.Errorf("want a path, or METHOD and path, such as /healthz or \"GET /healthz\"")
	}
	if target == "*" && method == "OPTIONS" {
		return nil
	}
	if !strings.HasPrefix(target, "/") || len(target) > 1024 || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return fmt.Errorf("%q: the request's path must start with / and hold no spaces, such as /healthz", target)
	}
	return nil
}

// checkOptions checks every option; field is where they sit
// ("spec.route_options").
func checkOptions(field string, o api.RouteOptions) error {
	if o.Balance != "" && !slices.Contains(balances, o.Balance) {
		return invalid(field+".balance", "unknown algorithm %q: want %s", o.Balance, strings.Join(balances, ", "))
	}
	if o.Cookie != "" {
		if err := checkCookie(o.Cookie); err != nil {
			return invalid(field+".cookie", "%v", err)
		}
	}
	if o.HTTPCheck != "" {
		if err := checkHTTPCheck(o.HTTPCheck); err != nil {
			return invalid(field+".http_check", "%v", err)
		}
	}
	switch o.ProxyProtocol {
	case "", api.ProxyProtocolV1, api.ProxyProtocolV2:
	default:
		return invalid(field+".proxy_protocol", "%q: want v1 or v2", o.ProxyProtocol)
	}
	if o.Certificate != "" && (len(o.Certificate) > 255 || strings.ContainsFunc(o.Certificate, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
		return invalid(field+".certificate", "must name a secret of the organization (wharf secret ls), without spaces")
	}
	if o.Weight < -maxWeight || o.Weight > maxWeight {
		return invalid(field+".weight", "must be from %d to %d, got %d", -maxWeight, maxWeight, o.Weight)
	}
	if o.Drain < 0 || o.Drain > maxDrainMS {
		return invalid(field+".drain_ms", "must be from 0 (the default, %d ms) to %d ms (an hour), got %d", api.DefaultRouteDrainMS, maxDrainMS, o.Drain)
	}
	return nil
}
