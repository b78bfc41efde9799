package exec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/internal/runtime"
)

// File names inside a container's directory.
const (
	stateFile = "state.json"
	logFile   = "output.log"
	workDir   = "work"
)

// record is what state.json holds: everything needed to adopt a run after
// an agent restart, and its final status once it exited.
type record struct {
	Spec runtime.Spec `json:"spec"`
	PID  int          `json:"pid"`
	// StartTime is field 22 of /proc/<pid>/stat when the run started: a PID
	// whose start time differs is another process.
	StartTime uint64    `json:"start_time"`
	Port      int       `json:"port"`
	StartedAt time.Time `json:"started_at"`
	// User is who the run runs as, and so who runs the commands exec'd
	// into it; nil (as in every record written before it existed): the
	// agent's own user.
	User *User `json:"user,omitempty"`
	// Links are the host ends of the run's veth pairs, one per network
	// of Spec.Networks, deleted when it exits or is removed. The run's
	// namespaces themselves live with its processes: an adopting agent
	// finds them in /proc/<pid>/ns.
	Links []string `json:"links,omitempty"`
	// Exited and what follows are set once the run has exited.
	Exited     bool      `json:"exited,omitempty"`
	ExitCode   int       `json:"exit_code,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// writeRecord replaces dir/state.json atomically. It does not fsync: the
// file only has to outlive the agent, not the host, whose reboot ends every
// process anyway.
func writeRecord(dir string, r record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, stateFile))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return nil
}

// readRecord reads dir/state.json.
func readRecord(dir string) (record, error) {
	var r record
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode %s: %w", filepath.Join(dir, stateFile), err)
	}
	return r, nil
}
