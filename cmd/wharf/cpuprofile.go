package main

// cpuprofile.go: an opt-in CPU profile of the process, for benchmarks. With
// WHARF_CPUPROFILE=<file> in the environment, SIGUSR1 starts a CPU profile
// and SIGUSR2 stops it and writes it to the file (each SIGUSR1 starts over).
// Without the variable nothing is installed and the signals keep their
// default action. There is no listener: only whoever sets the process's
// environment and can signal it (its user or root) can take a profile.

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// cpuProfileOnSignals installs the SIGUSR1/SIGUSR2 profile toggle when
// WHARF_CPUPROFILE names a file.
func cpuProfileOnSignals() {
	path := os.Getenv("WHARF_CPUPROFILE")
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range sig {
			if f != nil {
				pprof.StopCPUProfile()
				_ = f.Close()
				f = nil
			}
			if s != syscall.SIGUSR1 {
				continue
			}
			var err error
			if f, err = os.Create(path); err != nil {
				fmt.Fprintf(os.Stderr, "WHARF_CPUPROFILE: %v\n", err)
				continue
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(os.Stderr, "WHARF_CPUPROFILE: %v\n", err)
				_ = f.Close()
				f = nil
			}
		}
	}()
}
