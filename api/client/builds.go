package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"

	"github.com/wharfhq/wharf/api"
)

// Build uploads a build context (a tar) for a node of the server to build
// and push to the built-in registry (POST /v1/builds), copies the build's
// output to out as it comes, and returns the node and the pushed digest.
// It is bounded by ctx alone, not by the client's timeout. A build that
// fails after its output began is an *Error with code CodeInvalid and the
// build's message.
func (c *Client) Build(ctx context.Context, req api.BuildRequest, tar io.Reader, out io.Writer) (api.BuildResult, error) {
	q := url.Values{"repository": {req.Repository}, "tag": {req.Tag}}
	if req.Dockerfile != "" {
		q.Set("dockerfile", req.Dockerfile)
	}
	if req.Target != "" {
		q.Set("target", req.Target)
	}
	keys := make([]string, 0, len(req.Args))
	for k := range req.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Add("build_arg", k+"="+req.Args[k])
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/builds?"+q.Encode(), tar)
	if err != nil {
		return api.BuildResult{}, err
	}
	hreq.Header.Set("Content-Type", "application/x-tar")
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.org != "" {
		hreq.Header.Set(api.OrgHeader, c.org)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return api.BuildResult{}, fmt.Errorf("cannot reach the Wharf server at %s: %w", c.base, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 300 {
		return api.BuildResult{}, decodeError(resp)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return api.BuildResult{}, fmt.Errorf("the build's output broke off: %w", err)
	}
	if msg := resp.Trailer.Get(api.ErrorTrailer); msg != "" {
		return api.BuildResult{}, &Error{Status: resp.StatusCode, Code: api.CodeInvalid, Message: msg}
	}
	res := api.BuildResult{Node: resp.Trailer.Get(api.BuildNodeTrailer), Digest: resp.Trailer.Get(api.BuildDigestTrailer)}
	if res.Digest == "" {
		return res, fmt.Errorf("the server's answer to the build has no digest: the build did not finish")
	}
	return res, nil
}
