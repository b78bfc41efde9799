package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Builds for the server (POST /agent/v1/builds, see api/builds.go). A
// build runs the Dockerfile's RUN steps with this node's engine: the
// agent builds only when started with --allow-builds (Config.AllowBuilds),
// refuses anything else, and says so in its hello so that the server
// never picks a node that refuses. One build runs at a time; the next
// waits.

// maxBuildHead bounds the JSON line before the context.
const maxBuildHead = 1 << 20

// imageBuilder is the driver that builds images (the docker driver), or
// nil when the agent does not build.
func (a *Agent) imageBuilder() runtime.ImageBuilder {
	if !a.cfg.AllowBuilds {
		return nil
	}
	for _, d := range a.cfg.Drivers {
		if b, ok := d.(runtime.ImageBuilder); ok {
			return b
		}
	}
	return nil
}

// handleBuild builds and pushes an image the server sends, streaming the
// output back, with the digest or the error in a trailer.
func (s *agentSession) handleBuild(w http.ResponseWriter, r *http.Request) {
	if !s.a.cfg.AllowBuilds {
		errhttp.Write(w, errdefs.New(errdefs.ErrForbidden, "this agent does not build images: it was started without --allow-builds"))
		return
	}
	b := s.a.imageBuilder()
	if b == nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrConflict, "no driver of this agent builds images (the docker driver does)"))
		return
	}
	br := bufio.NewReaderSize(r.Body, maxBuildHead)
	line, err := br.ReadSlice('\n')
	var req api.NodeBuildRequest
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil || req.RegistryHost == "" || req.Repository == "" || req.Tag == "" {
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, "bad build request: want a line of NodeBuildRequest JSON, then the context's tar"))
		return
	}
	select {
	case s.a.builds <- struct{}{}:
		defer func() { <-s.a.builds }()
	case <-r.Context().Done():
		return
	}
	f, err := os.CreateTemp("", "wharf-build-context-*.tar")
	if err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrUnavailable, "spool the build context: "+err.Error()))
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(br, api.MaxBuildContext+1))
	switch {
	case err != nil:
		errhttp.Write(w, errdefs.New(errdefs.ErrUnavailable, "receive the build context: "+err.Error()))
		return
	case n > api.MaxBuildContext:
		errhttp.Write(w, errdefs.New(errdefs.ErrInvalid, fmt.Sprintf("the build context is larger than %d MiB", api.MaxBuildContext>>20)))
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrUnavailable, err.Error()))
		return
	}
	ca, err := os.ReadFile(filepath.Join(s.a.cfg.DataDir, fileCA))
	if err != nil {
		errhttp.Write(w, errdefs.New(errdefs.ErrUnavailable, "the cluster CA: "+err.Error()))
		return
	}
	ref := req.RegistryHost + "/" + req.Repository + ":" + req.Tag
	s.a.log.Info("building an image for the server", "image", ref)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	fw := &flushWriter{w: w, rc: rc}
	fmt.Fprintf(fw, "building %s on node %s\n", ref, s.a.identity().NodeID)
	digest, err := b.BuildImage(r.Context(), runtime.BuildSpec{
		Ref: ref, Dockerfile: req.Dockerfile, Target: req.Target, Args: req.Args,
		Username: req.Auth.Username, Password: req.Auth.Password, CACert: ca,
	}, f, fw)
	if err != nil {
		s.a.log.Info("the build failed", "image", ref, "err", err)
		w.Header().Set(http.TrailerPrefix+api.ErrorTrailer, oneLine(err.Error()))
		return
	}
	s.a.log.Info("built and pushed an image", "image", ref, "digest", digest)
	w.Header().Set(http.TrailerPrefix+api.BuildDigestTrailer, digest)
}

// oneLine makes s fit in a header value.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 4096 {
		s = s[:4096] + "…"
	}
	return s
}
