package docker

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// Pulling: Start pulls spec.Image per spec.PullPolicy (see ensureImage).
// Pulls of one image with one credential are shared: the first Start that
// needs it runs the pull, every other Start on this node that needs the
// same image waits on it and gets its result, and each waiter's
// PullProgress sees its progress.

// pullTimeout bounds one pull, which runs detached from the Start that
// began it (others may be waiting on it).
const pullTimeout = 30 * time.Minute

// pull is one pull in flight, shared by every Start that waits on it.
type pull struct {
	done chan struct{}
	err  error // set before done is closed

	mu      sync.Mutex
	percent int               // last progress, -1 until known
	subs    map[int]func(int) // progress callbacks by subscription
	next    int
}

// subscribe adds fn (if any) to p's progress callbacks and returns the
// function that removes it.
func (p *pull) subscribe(fn func(int)) func() {
	if fn == nil {
		return func() {}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.next
	p.next++
	p.subs[id] = fn
	if p.percent >= 0 {
		go fn(p.percent)
	}
	return func() {
		p.mu.Lock()
		delete(p.subs, id)
		p.mu.Unlock()
	}
}

// progress tells every subscriber the pull's new percentage, when it
// changed.
func (p *pull) progress(percent int) {
	p.mu.Lock()
	if percent == p.percent {
		p.mu.Unlock()
		return
	}
	p.percent = percent
	fns := make([]func(int), 0, len(p.subs))
	for _, fn := range p.subs {
		fns = append(fns, fn)
	}
	p.mu.Unlock()
	for _, fn := range fns {
		fn(percent)
	}
}

// pullKey is what shares a pull: the image reference and the credential
// (by hash), so that a wrong credential of one organization never fails
// another's pull, nor a right one serves it.
func pullKey(image string, auth *api.RegistryAuth) string {
	if auth == nil {
		return image
	}
	h := sha256.Sum256([]byte(auth.Username + "\x00" + auth.Password))
	return image + "\x00" + hex.EncodeToString(h[:8])
}

// ensureImage makes sure spec.Image is on the node as its pull policy
// says: always pulls; never fails at once if it is missing; missing,
// build and "" pull it when it is missing.
func (d *Driver) ensureImage(ctx context.Context, spec runtime.Spec) error {
	switch spec.PullPolicy {
	case api.PullAlways:
		return d.pullShared(ctx, spec)
	case api.PullNever, api.PullMissing, api.PullBuild, "":
	default:
		return fmt.Errorf("docker driver: start %s: unknown pull policy %q; use one of %s", spec.ID, spec.PullPolicy, strings.Join(api.PullPolicies, ", "))
	}
	_, err := d.cli.ImageInspect(ctx, spec.Image)
	switch {
	case err == nil:
		return nil
	case !cerrNotFound(err):
		return fmt.Errorf("docker driver: start %s: inspect image %s: %w", spec.ID, spec.Image, err)
	case spec.PullPolicy == api.PullNever:
		return imageMissing(spec.Image, err)
	}
	return d.pullShared(ctx, spec)
}

// pullShared pulls spec.Image, or waits on the pull of it already in
// flight, and returns the pull's error. spec.PullProgress, if set, hears
// the pull's progress.
func (d *Driver) pullShared(ctx context.Context, spec runtime.Spec) error {
	key := pullKey(spec.Image, spec.RegistryAuth)
	d.mu.Lock()
	p := d.pulls[key]
	if p == nil {
		p = &pull{done: make(chan struct{}), percent: -1, subs: map[int]func(int){}}
		d.pulls[key] = p
		d.pullCount++
		// Detached from ctx: other Starts may wait on this pull.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pullTimeout)
		go func() {
			defer cancel()
			p.err = d.pull(pctx, spec.Image, spec.RegistryAuth, p.progress)
			d.mu.Lock()
			delete(d.pulls, key)
			d.mu.Unlock()
			close(p.done)
		}()
	}
	d.mu.Unlock()
	unsub := p.subscribe(spec.PullProgress)
	defer unsub()
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("docker driver: start %s: %w", spec.ID, p.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("docker driver: start %s: waiting for the pull of %s: %w", spec.ID, spec.Image, ctx.Err())
	}
}

// pull asks the engine to pull image with auth (if any), following its
// JSON progress stream, and calls progress with the percentage of bytes
// downloaded so far.
func (d *Driver) pull(ctx context.Context, image string, auth *api.RegistryAuth, progress func(int)) error {
	host := api.RegistryHost(image)
	opts := client.ImagePullOptions{}
	if auth != nil {
		opts.RegistryAuth = EncodeAuth(*auth, host)
	}
	began := time.Now()
	d.log.Info("docker pulling image", "image", image, "registry", host, "with_credential", auth != nil)
	resp, err := d.cli.ImagePull(ctx, image, opts)
	if err != nil {
		return pullErr(image, host, auth, err)
	}
	defer resp.Close()
	layers := map[string]*jsonstream.Progress{}
	last := time.Time{}
	for m, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return pullErr(image, host, auth, err)
		}
		if m.Error != nil {
			return pullErr(image, host, auth, errors.New(m.Error.Message))
		}
		if m.ID == "" {
			continue
		}
		switch {
		case m.Status == "Downloading" && m.Progress != nil && m.Progress.Total > 0:
			layers[m.ID] = &jsonstream.Progress{Current: m.Progress.Current, Total: m.Progress.Total}
		case m.Status == "Download complete" || m.Status == "Pull complete" || m.Status == "Already exists":
			if l := layers[m.ID]; l != nil {
				l.Current = l.Total
			} else {
				layers[m.ID] = &jsonstream.Progress{Current: 1, Total: 1}
			}
		case m.Status == "Pulling fs layer" || m.Status == "Waiting":
			if layers[m.ID] == nil {
				layers[m.ID] = &jsonstream.Progress{Total: 0}
			}
		default:
			continue
		}
		if time.Since(last) >= 100*time.Millisecond {
			last = time.Now()
			progress(percentOf(layers))
		}
	}
	progress(100)
	d.log.Info("docker pulled image", "image", image, "registry", host, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// percentOf is the share of the layers' bytes downloaded, 0-99 while a
// layer's size is unknown or bytes are missing.
func percentOf(layers map[string]*jsonstream.Progress) int {
	var cur, total int64
	unknown := false
	for _, l := range layers {
		if l.Total == 0 {
			unknown = true
			continue
		}
		cur += min(l.Current, l.Total)
		total += l.Total
	}
	if total == 0 {
		return 0
	}
	p := int(cur * 100 / total)
	if unknown || p > 99 {
		p = min(p, 99)
	}
	return p
}

// pullErr explains a failed pull of image from host: a refused
// credential (the organization's, or the node's own for the built-in
// registry), a tag or repository the registry does not have, or a
// registry that does not answer, each with what to do.
func pullErr(image, host string, auth *api.RegistryAuth, err error) error {
	hadAuth := auth != nil
	nodeCred := hadAuth && strings.HasPrefix(auth.Username, api.NodeRegistryUserPrefix)
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case cerrdefs.IsUnauthorized(err) || strings.Contains(low, "unauthorized") || strings.Contains(low, "authentication required") ||
		strings.Contains(low, "no basic auth credentials") || strings.Contains(low, "denied"):
		switch {
		case nodeCred:
			return fmt.Errorf("pull %s: the built-in registry %s refused this node's pull credential: %s; a node pulls its own organization's images only, and gets a new credential with its next assignments", image, host, msg)
		case hadAuth:
			return fmt.Errorf("pull %s: registry %s refused the organization's credential: %s; check it with `wharf registry login %s`", image, host, msg, host)
		}
		return fmt.Errorf("pull %s: registry %s wants a credential: %s; store one with `wharf registry login %s`", image, host, msg, host)
	case strings.Contains(low, "manifest unknown") || strings.Contains(low, "not found") || cerrdefs.IsNotFound(err):
		return fmt.Errorf("pull %s: registry %s has no such image or tag: %s; check the image's name and tag", image, host, msg)
	case strings.Contains(low, "connection refused") || strings.Contains(low, "no such host") || strings.Contains(low, "timeout") ||
		strings.Contains(low, "i/o timeout") || strings.Contains(low, "dial tcp") || strings.Contains(low, "network is unreachable"):
		return fmt.Errorf("pull %s: registry %s does not answer: %s; check that the registry runs and this node reaches it", image, host, msg)
	}
	return fmt.Errorf("pull %s from registry %s: %w", image, host, err)
}

// EncodeAuth is a credential as the engine takes it in X-Registry-Auth:
// the JSON of its AuthConfig, base64url-encoded.
func EncodeAuth(auth api.RegistryAuth, host string) string {
	b, _ := json.Marshal(registry.AuthConfig{Username: auth.Username, Password: auth.Password, ServerAddress: host}) // always marshals
	return base64.URLEncoding.EncodeToString(b)
}
