package router

import (
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestHostPatternMatch(t *testing.T) {
	cases := []struct {
		pattern, host string
		want          bool
	}{
		{"app.example.com", "app.example.com", true},
		{"App.Example.com", "app.example.com", true},
		{"app.example.com", "www.example.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "xexample.com", false},
		{"*", "anything.org", true},
		{"", "anything.org", true},
	}
	for _, c := range cases {
		if got := parseHostPattern(c.pattern).match(c.host); got != c.want {
			t.Errorf("%q matching %q = %v, want %v", c.pattern, c.host, got, c.want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"App.Example.COM:8080": "app.example.com",
		"app.example.com.":     "app.example.com",
		"[::1]:80":             "::1",
		"[::1]":                "::1",
		"10.0.0.1":             "10.0.0.1",
	} {
		if got := normalizeHost(in); got != want {
			t.Errorf("normalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPathMatchIsSegmentAware(t *testing.T) {
	cases := []struct {
		prefix, path string
		want         bool
	}{
		{"/api", "/api", true},
		{"/api", "/api/", true},
		{"/api", "/api/x", true},
		{"/api", "/apix", false},
		{"/api", "/", false},
		{"/", "/anything", true},
		{normalizePath("/api/"), "/api", true},
		{normalizePath(""), "/x", true},
	}
	for _, c := range cases {
		if got := pathMatch(c.prefix, c.path); got != c.want {
			t.Errorf("prefix %q matching %q = %v, want %v", c.prefix, c.path, got, c.want)
		}
	}
}

// The table is matched most specific first whatever order it arrives in.
func TestHostTableMostSpecificFirst(t *testing.T) {
	mk := func(name, host, path string, weight int) *httpRoute {
		hr := api.HTTPRoute{Name: name, Host: host, Path: path}
		hr.Weight = weight
		return &httpRoute{HTTPRoute: hr, host: parseHostPattern(host), path: normalizePath(path)}
	}
	ht := newHostTable([]*httpRoute{
		mk("any", "*", "/", 0),
		mk("any-api", "*", "/api", 0),
		mk("wild", "*.example.com", "/", 0),
		mk("wild-deeper", "*.b.example.com", "/", 0),
		mk("root", "app.example.com", "/", 0),
		mk("api-light", "app.example.com", "/api", 1),
		mk("api-heavy", "app.example.com", "/api", 5),
	})
	cases := []struct{ host, path, want string }{
		{"app.example.com", "/api/v1", "api-heavy"},
		{"app.example.com", "/apix", "root"},
		{"x.example.com", "/api", "wild"},
		{"x.b.example.com", "/", "wild-deeper"},
		{"other.org", "/api", "any-api"},
		{"other.org", "/", "any"},
	}
	for _, c := range cases {
		rt := ht.match(c.host, c.path)
		if rt == nil || rt.Name != c.want {
			t.Errorf("%s%s matched %v, want %s", c.host, c.path, rt, c.want)
		}
	}
	empty := newHostTable([]*httpRoute{mk("only", "app.example.com", "/", 0)})
	if rt := empty.match("other.org", "/"); rt != nil {
		t.Errorf("other.org matched %s in a table without it", rt.Name)
	}
}

// On the HTTP listener a plain route beats a ForceSSL redirect of the same
// host and path, whatever their weights; a redirect still wins where it is
// more specific.
func TestRedirectYieldsToPlainRoute(t *testing.T) {
	mk := func(name, host, path string, redirect bool, weight int) *httpRoute {
		hr := api.HTTPRoute{Name: name, Host: host, Path: path}
		hr.Weight = weight
		return &httpRoute{HTTPRoute: hr, host: parseHostPattern(host), path: normalizePath(path), redirect: redirect}
	}
	ht := newHostTable([]*httpRoute{
		mk("redirect", "app.example.com", "/", true, 10),
		mk("plain", "app.example.com", "/", false, 0),
		mk("redirect-admin", "app.example.com", "/admin", true, 0),
	})
	if rt := ht.match("app.example.com", "/x"); rt == nil || rt.Name != "plain" {
		t.Errorf("/x matched %v, want the plain route", rt)
	}
	if rt := ht.match("app.example.com", "/admin/x"); rt == nil || !rt.redirect {
		t.Errorf("/admin/x matched %v, want the redirect", rt)
	}
}
