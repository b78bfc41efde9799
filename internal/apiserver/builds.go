package apiserver

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// buildReadTimeout bounds the upload of one build context and the build:
// the listener's read timeout is made for small JSON bodies.
const buildReadTimeout = time.Hour

// build serves POST /v1/builds (see api/builds.go): the query says what to
// build, the body is the context's tar. The build's output streams back as
// text; its digest (or its error, once output went out) is in a trailer.
func (s *Server) build(w http.ResponseWriter, r *http.Request) error {
	req, err := buildRequest(r)
	if err != nil {
		return err
	}
	infoOf(r).object = req.Repository + ":" + req.Tag
	if r.ContentLength > s.maxBuildContext {
		return tooLargeContext(s.maxBuildContext)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(buildReadTimeout))
	// No full duplex: the node reads the whole context before it answers,
	// so the output begins after the body was read to its end.
	body := &capReader{r: r.Body, left: s.maxBuildContext}
	sw := s.newStreamWriter(w, false)
	res, err := s.d.Build(r.Context(), actorOf(r), req, body, sw)
	if body.over.Load() {
		err = tooLargeContext(s.maxBuildContext)
	}
	if err == nil {
		sw.w.Header().Set(http.TrailerPrefix+api.BuildDigestTrailer, res.Digest)
		sw.w.Header().Set(http.TrailerPrefix+api.BuildNodeTrailer, res.Node)
	}
	return sw.end(r, err)
}

func tooLargeContext(limit int64) error {
	return newErr(errTooLarge, "the build context is larger than the limit of %d bytes (%d MiB): leave big files out of it with .dockerignore, or build where a Docker Engine runs", limit, limit>>20)
}

// buildRequest reads a build's query.
func buildRequest(r *http.Request) (api.BuildRequest, error) {
	q := r.URL.Query()
	req := api.BuildRequest{Repository: q.Get("repository"), Tag: q.Get("tag"), Dockerfile: q.Get("dockerfile"), Target: q.Get("target")}
	for _, kv := range q["build_arg"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return req, errdefs.Invalid("build_arg", "%.64q: want build_arg=NAME=VALUE", kv)
		}
		if req.Args == nil {
			req.Args = map[string]string{}
		}
		if _, dup := req.Args[k]; dup {
			return req, errdefs.Invalid("build_arg", "build argument %.64q given twice", k)
		}
		req.Args[k] = v
	}
	return req, nil
}

// capReader reads at most left bytes and notes a body that has more.
type capReader struct {
	r    io.Reader
	left int64
	over atomic.Bool // read by the handler while the transport may still read
}

var errOver = errors.New("the build context is too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.over.Load() {
		return 0, errOver
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > c.left {
		c.over.Store(true)
		return int(c.left), errOver
	}
	c.left -= int64(n)
	return n, err
}
