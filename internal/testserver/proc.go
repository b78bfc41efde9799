package testserver

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ProcRSS is the resident set size (VmRSS) of process pid in bytes, read
// from /proc (an error where there is none).
func ProcRSS(pid int) (int64, error) {
	v, err := procStatus(pid, "VmRSS")
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// ProcRSSSplit splits a process's resident set: anon is its own memory
// (heap, stacks: RssAnon), file the pages of mapped files it has touched
// (RssFile: for a Go program, mostly its binary's code and read-only data,
// shared with every process that runs the same binary and reclaimable).
func ProcRSSSplit(pid int) (anon, file int64, err error) {
	v, err := procStatus(pid, "RssAnon", "RssFile")
	if err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// procStatus reads "kB" fields of /proc/<pid>/status, in bytes, in the
// order asked.
func procStatus(pid int, fields ...string) ([]int64, error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(fields))
	found := 0
	for line := range strings.SplitSeq(string(st), "\n") {
		name, v, ok := strings.Cut(line, ":")
		i := slices.Index(fields, name)
		if !ok || i < 0 {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		out[i] = kb << 10
		found++
	}
	if found != len(fields) {
		return nil, fmt.Errorf("/proc/%d/status: not every one of %v", pid, fields)
	}
	return out, nil
}

// ProcCPU is the user plus system CPU time process pid has used, read from
// /proc (USER_HZ is 100 on Linux).
func ProcCPU(pid int) (time.Duration, error) {
	u, err := ReadProcUsage(pid)
	return u.User + u.System, err
}

// ProcUsage is what a process has used so far: CPU time in user space and
// in the kernel (system calls, page faults), and minor page faults (pages
// the kernel had to map in, without a disk read: a fresh or returned page
// of heap or stack, a page of a file already cached).
type ProcUsage struct {
	User, System time.Duration
	MinorFaults  int64
}

// Sub is what was used from before to u.
func (u ProcUsage) Sub(before ProcUsage) ProcUsage {
	return ProcUsage{User: u.User - before.User, System: u.System - before.System,
		MinorFaults: u.MinorFaults - before.MinorFaults}
}

// String is "3.41 s (system 0.60 s, 38123 page faults)".
func (u ProcUsage) String() string {
	return fmt.Sprintf("%.2f s (system %.2f s, %d page faults)", (u.User + u.System).Seconds(), u.System.Seconds(), u.MinorFaults)
}

// ReadProcUsage reads process pid's ProcUsage from /proc/<pid>/stat
// (USER_HZ is 100 on Linux).
func ReadProcUsage(pid int) (ProcUsage, error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcUsage{}, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: f[0] is field 3 of proc(5), state.
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
	if len(f) < 13 {
		return ProcUsage{}, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(f))
	}
	minflt, err1 := strconv.ParseInt(f[7], 10, 64)
	utime, err2 := strconv.ParseInt(f[11], 10, 64)
	stime, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return ProcUsage{}, fmt.Errorf("/proc/%d/stat: minflt %q, utime %q, stime %q: not numbers", pid, f[7], f[11], f[12])
	}
	const tick = 10 * time.Millisecond
	return ProcUsage{User: time.Duration(utime) * tick, System: time.Duration(stime) * tick, MinorFaults: minflt}, nil
}

// metric finds the sample of an unlabelled metric in Prometheus text.
func metric(r io.Reader, name string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("/metrics: %s: %w", name, err)
			}
			return f, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("/metrics: %w", err)
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}
