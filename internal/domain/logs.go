package domain

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/store"
)

// StreamOpener may be implemented by the writer a front door gives
// ContainerLogs and ServiceLogs, to learn when the answer is decided.
type StreamOpener interface {
	// OpenStream is called once the operation's checks have passed, just
	// before logs are read: from then on the stream may show itself open
	// (the REST API sends its headers after a moment when following).
	OpenStream()
	// CommitStream is called when ServiceLogs served the logs of some
	// containers but not of others: the answer is a success, and the
	// error the operation then returns is told at the stream's end.
	CommitStream()
}

func openStream(w io.Writer) {
	if o, ok := w.(StreamOpener); ok {
		o.OpenStream()
	}
}

// logSource is the configured log source, or an unavailable error.
func (d *Domain) logSource() (LogSource, error) {
	if d.cfg.Logs == nil {
		return nil, newErr(errdefs.ErrUnavailable, "this server cannot fetch container logs")
	}
	return d.cfg.Logs, nil
}

// ContainerLogs writes to w the logs of the container ref names, from its
// node: the last tail lines (0 for every line), then, with follow, new
// lines until ctx ends or the container's log ends. It refuses an actor
// without read access to apps, a container not placed on a node yet, and,
// as unavailable, a server that cannot fetch logs.
func (d *Domain) ContainerLogs(ctx context.Context, a Actor, ref string, follow bool, tail int, w io.Writer) error {
	if err := a.need(AppsLogs); err != nil {
		return err
	}
	c, err := d.resolveContainer(ctx, a, ref)
	if err != nil {
		return err
	}
	if c.Spec.Node == "" {
		return newErr(errdefs.ErrConflict, "container %s is not placed on a node yet, so it has no logs", containerLabel(c))
	}
	if err := neverStarted(c); err != nil {
		return err
	}
	src, err := d.logSource()
	if err != nil {
		return err
	}
	openStream(w)
	return src.ContainerLogs(ctx, c, follow, tail, w)
}

// neverStarted is a conflict saying why a placed container that its node
// reported stopped, yet never started, has no logs (with its last error,
// when the node told one), or one still pending with an error; nil for
// the others, whose logs the node is asked for.
func neverStarted(c *api.Container) error {
	if !c.Status.StartedAt.IsZero() || c.Status.ExitCode != nil {
		return nil
	}
	switch c.Status.State {
	case api.ContainerStopped, api.ContainerTerminating, api.ContainerTerminated:
		if c.Status.Reason == "" {
			return newErr(errdefs.ErrConflict, "container %s never started, so it has no logs", containerLabel(c))
		}
		return newErr(errdefs.ErrConflict, "container %s never started, so it has no logs; its last error: %s", containerLabel(c), c.Status.Reason)
	case api.ContainerPending:
		if c.Status.Reason != "" {
			return newErr(errdefs.ErrConflict, "container %s has not started yet, so it has no logs; its last error: %s", containerLabel(c), c.Status.Reason)
		}
	}
	return nil
}

// ServiceLogs writes to w the logs of all the placed containers of the
// service ref names, each line prefixed "<container name> | ". With
// follow, lines of all containers interleave as they come, and the
// containers that start while the stream is open (a redeploy, a scale-up,
// a replacement after node loss) join it; it ends when ctx ends or the
// service is removed. It refuses an actor without read access to apps, a
// service none of whose containers is placed yet (without follow), and,
// as unavailable, a server that cannot fetch logs. When some containers'
// logs fail, it returns an error naming each, of the first failure's kind.
func (d *Domain) ServiceLogs(ctx context.Context, a Actor, ref string, follow bool, tail int, w io.Writer) error {
	if err := a.need(AppsLogs); err != nil {
		return err
	}
	svc, err := d.resolveService(ctx, a, ref)
	if err != nil {
		return err
	}
	all, rev, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
	if err != nil {
		return err
	}
	var placed []*api.Container
	unplaced := 0
	for _, c := range all {
		switch {
		case c.Spec.Service != svc.ID:
		case c.Spec.Node == "":
			unplaced++
		default:
			placed = append(placed, c)
		}
	}
	if len(placed) == 0 && unplaced > 0 && !follow {
		return newErr(errdefs.ErrConflict, "none of service %s's containers is placed on a node yet, so there are no logs", svc.Name)
	}
	slices.SortFunc(placed, func(a, b *api.Container) int { return a.Spec.Slot - b.Spec.Slot })
	var src LogSource
	if len(placed) > 0 || follow {
		if src, err = d.logSource(); err != nil {
			return err
		}
	}
	openStream(w)
	// ctx ends every follower when the caller leaves or, with follow,
	// when the service is removed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &logFan{src: src, out: &syncWriter{w: w}, follow: follow, seen: map[string]bool{}}
	for _, c := range placed {
		f.add(ctx, c, tail)
	}
	if follow {
		d.followNewContainers(ctx, cancel, f, svc.ID, rev)
	}
	f.wg.Wait()
	if len(f.failed) == 0 {
		return nil
	}
	if o, ok := w.(StreamOpener); ok && len(f.failed) < len(placed) {
		o.CommitStream() // some containers' logs were served
	}
	return errdefs.New(f.first, "logs of "+strings.Join(f.failed, "; "))
}

// syncWriter makes one writer safe for the fan's goroutines; each Write is
// one whole line.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// logFan streams the logs of several containers into one stream.
type logFan struct {
	src    LogSource
	out    io.Writer
	follow bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   map[string]bool // container IDs followed
	first  error
	failed []string // "<container>: <error>"
}

// add streams c's logs unless they already are. Without follow, a failure
// is kept for the end of the response; with follow it is a line in the
// stream at once, since the stream may stay open long after.
func (f *logFan) add(ctx context.Context, c *api.Container, tail int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[c.ID] {
		return
	}
	f.seen[c.ID] = true
	f.wg.Go(func() {
		lw := &lineWriter{prefix: containerLabel(c) + " | ", out: f.out}
		err := f.src.ContainerLogs(ctx, c, f.follow, tail, lw)
		lw.flush()
		if err == nil || ctx.Err() != nil {
			return
		}
		if f.follow {
			_ = lw.emit([]byte("wharf: its logs ended: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.first == nil {
			f.first = err
		}
		f.failed = append(f.failed, containerLabel(c)+": "+err.Error())
	})
}

// followNewContainers adds to f every container of the service that starts
// on a node after revision rev, until ctx ends or the service is removed;
// then it calls cancel, which ends every follower.
func (d *Domain) followNewContainers(ctx context.Context, cancel context.CancelFunc, f *logFan, svcID string, rev int64) {
	f.wg.Go(func() {
		defer cancel()
		for ctx.Err() == nil {
			for b := range d.st.Watch(ctx, rev, store.KindContainers, store.KindServices) {
				if b.Err != nil {
					break
				}
				rev = b.Revision
				for _, ch := range b.Changes {
					if ch.Kind == store.KindServices {
						if ch.ID == svcID && ch.Deleted {
							return
						}
						continue
					}
					var c api.Container
					if ch.Deleted || ch.Decode(&c) != nil || !startedFor(&c, svcID) {
						continue
					}
					f.add(ctx, &c, 0)
				}
			}
			// The watch ended (compacted, or the store went away for a
			// moment): list again and go on from there.
			all, at, err := store.ListAll[api.Container](ctx, d.st, store.KindContainers)
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			var svc api.Service
			if err := d.st.Get(ctx, store.KindServices, svcID, &svc); errors.Is(err, store.ErrNotFound) {
				return // removed while the watch was down
			}
			for _, c := range all {
				if startedFor(c, svcID) {
					f.add(ctx, c, 0)
				}
			}
			rev = at
		}
	})
}

// startedFor reports whether c is a container of service svcID that its
// node has started, so that it has logs to follow.
func startedFor(c *api.Container, svcID string) bool {
	st := c.Status.State
	return c.Spec.Service == svcID && c.Spec.Node != "" && c.Spec.Desired != api.ContainerTerminated &&
		st != "" && st != api.ContainerPending
}

// maxLine is the longest line a lineWriter keeps before it breaks it.
const maxLine = 64 << 10

// lineWriter prefixes every line and writes each whole line at once, so
// the lines of several containers interleave but never mix.
type lineWriter struct {
	prefix string
	out    io.Writer
	buf    []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 && len(lw.buf) < maxLine {
			return len(p), nil
		}
		var line []byte
		if i < 0 {
			line, lw.buf = append(lw.buf[:maxLine:maxLine], '\n'), lw.buf[maxLine:]
		} else {
			line, lw.buf = lw.buf[:i+1], lw.buf[i+1:]
		}
		if err := lw.emit(line); err != nil {
			return 0, err
		}
		if len(lw.buf) == 0 {
			lw.buf = nil
		}
	}
}

func (lw *lineWriter) emit(line []byte) error {
	b := make([]byte, 0, len(lw.prefix)+len(line))
	_, err := lw.out.Write(append(append(b, lw.prefix...), line...))
	return err
}

// flush writes what is left of an unterminated last line.
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		_ = lw.emit(append(lw.buf, '\n'))
		lw.buf = nil
	}
}
