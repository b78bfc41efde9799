// Package profiling writes CPU and heap profiles of the running process
// into a directory when asked by a signal, for `wharf server
// --profile-dir`. There is no listener: only a process that may signal this
// one (the same user, or root, who could also read its memory) can ask for
// a profile, and the profiles are files (0600) in a directory the operator
// chose (made 0700 when it does not exist). It is off unless a directory is
// given.
//
// Each SIGUSR1 is one step, numbered from 1: the process runs a garbage
// collection and writes heap-N.pprof (what is in use after that
// collection) and goroutine-N.txt (every goroutine's stack, grouped),
// stops the CPU profile it was recording since the step before (or since
// Start) into cpu-N.pprof, and starts the next one. A
// file appears complete or not at all (written aside, then renamed).
package profiling

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
)

// Profiler records CPU profiles between signals and writes heap profiles
// on them.
type Profiler struct {
	dir  string
	log  *slog.Logger
	sigs chan os.Signal
	done chan struct{}

	mu   sync.Mutex
	step int
	cpu  *os.File // the CPU profile being recorded, not yet renamed
}

// Start makes dir (0700) if needed, starts recording a CPU profile and
// answers the step signal (SIGUSR1; none on systems without it) until
// Stop.
func Start(dir string, log *slog.Logger) (*Profiler, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--profile-dir: %w", err)
	}
	p := &Profiler{dir: dir, log: log, sigs: make(chan os.Signal, 1), done: make(chan struct{}), step: 1}
	if err := p.startCPU(); err != nil {
		return nil, err
	}
	if stepSignal != nil {
		signal.Notify(p.sigs, stepSignal)
	}
	go p.loop()
	return p, nil
}

func (p *Profiler) loop() {
	defer close(p.done)
	for range p.sigs {
		if err := p.Step(); err != nil {
			p.log.Warn("profile", "dir", p.dir, "err", err)
		}
	}
}

// Step writes heap-N.pprof after a garbage collection, goroutine-N.txt and
// cpu-N.pprof
// (the CPU profile since the step before), then starts the next CPU
// profile.
func (p *Profiler) Step() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.step
	p.step++
	runtime.GC()
	if err := p.writeProfiles(n); err != nil {
		return err
	}
	if err := p.stopCPU(n); err != nil {
		return err
	}
	return p.startCPU()
}

// Stop stops answering signals and writes the CPU profile recorded since
// the last step as cpu-N.pprof.
func (p *Profiler) Stop() error {
	if stepSignal != nil {
		signal.Stop(p.sigs)
	}
	close(p.sigs)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopCPU(p.step)
}

// writeProfiles writes heap-N.pprof and goroutine-N.txt.
func (p *Profiler) writeProfiles(n int) error {
	for _, w := range []struct {
		profile, name string
		debug         int
	}{{"heap", "heap-%d.pprof", 0}, {"goroutine", "goroutine-%d.txt", 1}} {
		f, err := os.CreateTemp(p.dir, ".profile-*")
		if err != nil {
			return err
		}
		if err := pprof.Lookup(w.profile).WriteTo(f, w.debug); err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			return fmt.Errorf("%s profile: %w", w.profile, err)
		}
		if err := finish(f, filepath.Join(p.dir, fmt.Sprintf(w.name, n))); err != nil {
			return err
		}
	}
	return nil
}

func (p *Profiler) startCPU() error {
	f, err := os.CreateTemp(p.dir, ".cpu-*")
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return fmt.Errorf("CPU profile: %w", err)
	}
	p.cpu = f
	return nil
}

func (p *Profiler) stopCPU(n int) error {
	if p.cpu == nil {
		return nil
	}
	pprof.StopCPUProfile()
	f := p.cpu
	p.cpu = nil
	return finish(f, filepath.Join(p.dir, fmt.Sprintf("cpu-%d.pprof", n)))
}

// finish closes f (a temporary file in the profile dir) and renames it to
// name.
func finish(f *os.File, name string) error {
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), name)
}
