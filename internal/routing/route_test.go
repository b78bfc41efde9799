package routing

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
)

func TestParseRoute(t *testing.T) {
	for _, c := range []struct {
		in   string
		want api.Route
		text string // FormatRoute of want
	}{
		{"app.example.com/api:8080", api.Route{Protocol: "http", Host: "app.example.com", Path: "/api", Port: 8080}, "app.example.com/api:8080"},
		{"App.Example.COM", api.Route{Protocol: "http", Host: "app.example.com"}, "app.example.com"},
		{"http://a.io/", api.Route{Protocol: "http", Host: "a.io"}, "a.io"},
		{"ws://a.io/x/y/", api.Route{Protocol: "http", Host: "a.io", Path: "/x/y"}, "a.io/x/y"},
		{"wss://*.example.com", api.Route{Protocol: "https", Host: "*.example.com"}, "https://*.example.com"},
		{"HTTPS://shop.io/cart:443", api.Route{Protocol: "https", Host: "shop.io", Path: "/cart", Port: 443}, "https://shop.io/cart:443"},
		{"*", api.Route{Protocol: "http", Host: "*"}, "*"},
		{"*:80", api.Route{Protocol: "http", Host: "*", Port: 80}, "*:80"},
		{" localhost/a%2Fb ", api.Route{Protocol: "http", Host: "localhost", Path: "/a%2Fb"}, "localhost/a%2Fb"},
		{"10.0.0.1/x", api.Route{Protocol: "http", Host: "10.0.0.1", Path: "/x"}, "10.0.0.1/x"},
		{"tcp://5432", api.Route{Protocol: "tcp", Listen: 5432}, "tcp://5432"},
		{"TCP://15432:5432", api.Route{Protocol: "tcp", Listen: 15432, Port: 5432}, "tcp://15432:5432"},
	} {
		got, err := ParseRoute(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRoute(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if text := FormatRoute(got); text != c.text {
			t.Errorf("FormatRoute(%+v) = %q, want %q", got, text, c.text)
		}
	}
}

// TestParseRouteErrors: each error names the part at fault and shows an
// example of the grammar.
func TestParseRouteErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty route"},
		{"ftp://a.io", `unknown scheme "ftp"`},
		{"a.io:0", `port "0" must be a number from 1 to 65535`},
		{"a.io:http", `port "http"`},
		{"a.io:99999", `port "99999"`},
		{"a.io:+80", `port "+80"`},
		{"tcp://a.io:5432", `listen port "a.io"`},
		{"tcp://5432:x", `container port "x"`},
		{"tcp://", `listen port ""`},
		{"/api", "no host"},
		{"a*.io", "a wildcard is *"},
		{"*.*.io", "a wildcard is *"},
		{"a_b.io", `'_' is not allowed in a host`},
		{"-a.io", "label must be 1 to 63"},
		{"a..io", "label must be 1 to 63"},
		{"5432", "a TCP port is tcp://5432"},
		{"a.io/api/*", "drop the *"},
		{"a.io/a b", `' ' is not allowed in a path`},
		{"a.io//x", "empty, . or .. segment"},
		{"a.io/../etc", "empty, . or .. segment"},
		{"a.io/%zz", `'%' is not allowed in a path`},
		{"a.io/x?q=1", `'?' is not allowed`},
	} {
		_, err := ParseRoute(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "e.g. app.example.com/api:8080") {
			t.Errorf("ParseRoute(%q): %v; want an error with %q and an example", c.in, err, c.want)
		}
	}
}

// FuzzParseRoute: ParseRoute never panics, and what it accepts, written
// by FormatRoute, reads back as the same route and the same text.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"app.example.com/api:8080", "https://*.x.io", "*", "tcp://15432:5432", "ws://a/b/", "a.io/%41", "x:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoute(s)
		if err != nil {
			return
		}
		if err := checkRoute(r); err != nil {
			t.Fatalf("ParseRoute(%q) = %+v, which checkRoute refuses: %v", s, r, err)
		}
		text := FormatRoute(r)
		back, err := ParseRoute(text)
		if err != nil || back != r {
			t.Fatalf("ParseRoute(%q) = %+v; its text %q reads back as %+v, %v", s, r, text, back, err)
		}
		if again := FormatRoute(back); again != text {
			t.Fatalf("FormatRoute changed %q to %q", text, again)
		}
	})
}
