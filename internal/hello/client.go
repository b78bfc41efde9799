package hello

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ProbeOptions configures Probe: the client side of the hello workload,
// which tests run inside containers to check what a container reaches
// (names through the container's resolver, addresses on its networks).
type ProbeOptions struct {
	// Get is a URL to fetch; Lookup a name to resolve. One of them.
	Get    string
	Lookup string
	// Every repeats the probe at this interval (0: once); Count bounds
	// the repeats (0: until ctx ends).
	Every time.Duration
	Count int
	Out   io.Writer
}

// Probe fetches or resolves once, or every o.Every, writing one line per
// attempt: "ok <time> <answer>" or "fail <time> <error>". Once, it returns
// the attempt's error.
func Probe(ctx context.Context, o ProbeOptions) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	attempt := func() error {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var answer string
		var err error
		if o.Lookup != "" {
			var addrs []string
			addrs, err = net.DefaultResolver.LookupHost(actx, o.Lookup)
			slices.Sort(addrs)
			answer = strings.Join(addrs, ",")
		} else {
			answer, err = get(actx, client, o.Get)
		}
		now := time.Now().UTC().Format(time.RFC3339Nano)
		if err != nil {
			fmt.Fprintf(o.Out, "fail %s %v\n", now, err)
			return err
		}
		fmt.Fprintf(o.Out, "ok %s %s\n", now, answer)
		return nil
	}
	if o.Every <= 0 {
		return attempt()
	}
	t := time.NewTicker(o.Every)
	defer t.Stop()
	for n := 0; o.Count == 0 || n < o.Count; n++ {
		_ = attempt()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
	return nil
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if host := req.URL.Hostname(); net.ParseIP(host) == nil {
		// Resolve first, so that a failure says which step failed.
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			return "", fmt.Errorf("lookup %s: %w", host, err)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}
