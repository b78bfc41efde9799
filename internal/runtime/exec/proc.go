package exec

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what the driver reads from /proc/<pid>/stat.
type procStat struct {
	state     byte   // field 3: R, S, D, Z, ...
	pgrp      int    // field 5: process group
	startTime uint64 // field 22: start time in clock ticks since boot
}

// readProcStat reads /proc/<pid>/stat. It returns an error wrapping
// os.ErrNotExist when there is no such process.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

// parseProcStat parses the text of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses,
// so fields are counted from the last ')'.
func parseProcStat(s string) (procStat, error) {
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return procStat{}, errors.New("malformed /proc stat: no ')'")
	}
	fields := strings.Fields(s[end+1:]) // fields[0] is field 3
	const startTimeField = 22 - 3
	if len(fields) <= startTimeField || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed /proc stat: %d fields after the command name", len(fields))
	}
	st, err := strconv.ParseUint(fields[startTimeField], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat start time: %w", err)
	}
	pgrp, err := strconv.Atoi(fields[5-3])
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat process group: %w", err)
	}
	return procStat{state: fields[0][0], pgrp: pgrp, startTime: st}, nil
}

// isAlive reports whether pid is still the process that started at
// startTime and has not exited (a zombie has exited).
func isAlive(pid int, startTime uint64) bool {
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return st.startTime == startTime && st.state != 'Z' && st.state != 'X'
}

// hasStragglers reports whether process group pgid, whose leader started
// at leaderStart and has exited, still has live members. While it has, the
// kernel hands out neither pgid as a new PID nor as a group, so signalling
// the group reaches only them; if a new process holds PID pgid, the group
// is no longer ours and it reports false.
func hasStragglers(pgid int, leaderStart uint64) bool {
	if st, err := readProcStat(pgid); err == nil && st.startTime != leaderStart {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.pgrp == pgid && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

// signalGroup sends sig to process group pgid; a group that is already gone
// is not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pgid, err)
	}
	return nil
}

// exitStatus turns a wait status into an exit code (128+n for signal n, as
// shells report it) and a reason for a non-zero one.
func exitStatus(ws syscall.WaitStatus) (code int, reason string) {
	switch {
	case ws.Signaled():
		sig := ws.Signal()
		return 128 + int(sig), fmt.Sprintf("killed by signal %d (%v)", int(sig), sig)
	case ws.Exited() && ws.ExitStatus() != 0:
		return ws.ExitStatus(), fmt.Sprintf("exited with code %d", ws.ExitStatus())
	case ws.Exited():
		return 0, ""
	default:
		return -1, fmt.Sprintf("exit status unknown: wait status %#x", uint32(ws))
	}
}

// freePort finds a free TCP port on all interfaces, avoiding the ports in
// use here and those other agents on this host have reserved, and returns
// it with its reservation, to be held until the run exits. It looks below
// the kernel's ephemeral range first, where outgoing connections never take
// a port between the probe and the workload's bind; only when that range
// is full does it ask the kernel for any free port. A listener outside
// Wharf may still take it in between; the workload then fails to listen
// and exits, which the agent sees like any other crash.
func freePort(inUse map[int]bool) (int, *os.File, error) {
	lo, hi := workloadPorts()
	for range 64 {
		port := lo + rand.IntN(hi-lo+1)
		lock, err := claimPort(port, inUse)
		if err != nil {
			return 0, nil, fmt.Errorf("find a free port: %w", err)
		}
		if lock != nil {
			return port, lock, nil
		}
	}
	for range 20 {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			return 0, nil, fmt.Errorf("find a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		lock, err := claimPort(port, inUse)
		if err != nil {
			return 0, nil, fmt.Errorf("find a free port: %w", err)
		}
		if lock != nil {
			return port, lock, nil
		}
	}
	return 0, nil, errors.New("find a free port: every port tried is in use or reserved by another agent on this host")
}

// workloadPorts is the range freePort draws from: 20000 up to just below
// the kernel's ephemeral ports (ip_local_port_range, 32768 by default).
func workloadPorts() (lo, hi int) {
	lo, hi = 20000, 32767
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		if eph, err := strconv.Atoi(f[0]); err == nil && eph-1 > lo+1000 {
			hi = eph - 1
		}
	}
	return lo, hi
}
