package api

import (
	"strings"
	"testing"
	"time"
)

// FuzzDurations parses health check and update durations as the server and
// agents do: never a panic; an error names the field and the value; an
// accepted value is the Go duration it spells (or the default when empty),
// never negative, and survives printing back with String.
func FuzzDurations(f *testing.F) {
	for _, seed := range []string{"10s", "500ms", "1h2m3.5s", "", "0", "-1s", "forever", "1e3s", "9999999999h", ".5s", "1µs"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := Healthcheck{Interval: s, Timeout: s, StartPeriod: s}
		interval, timeout, start, err := h.Durations()
		u := UpdateConfig{Delay: s, Monitor: s}
		_, delay, monitor, uerr := u.Settings()
		if (err == nil) != (uerr == nil) {
			t.Fatalf("%q: healthcheck says %v, update says %v", s, err, uerr)
		}
		if err != nil {
			for _, e := range []error{err, uerr} {
				if !strings.Contains(e.Error(), ": ") || !strings.Contains(e.Error(), "Go duration") {
					t.Fatalf("%q: error %q does not name the field and say what to write", s, e)
				}
			}
			if !strings.HasPrefix(err.Error(), "interval:") || !strings.HasPrefix(uerr.Error(), "delay:") {
				t.Fatalf("%q: errors %q and %q do not name the first bad field", s, err, uerr)
			}
			return
		}
		if s == "" {
			if interval != DefaultHealthInterval || timeout != DefaultHealthTimeout || start != 0 || delay != 0 || monitor != 0 {
				t.Fatalf("empty durations: %v %v %v %v %v, want the defaults", interval, timeout, start, delay, monitor)
			}
			return
		}
		want, perr := time.ParseDuration(s)
		if perr != nil || want < 0 {
			t.Fatalf("%q accepted, but time.ParseDuration says %v, %v", s, want, perr)
		}
		for _, d := range []time.Duration{interval, timeout, start, delay, monitor} {
			if d != want {
				t.Fatalf("%q: got %v, want %v", s, d, want)
			}
		}
		back, _, _, err := (&Healthcheck{Interval: want.String()}).Durations()
		if err != nil || back != want {
			t.Fatalf("%q printed back as %q: %v, %v", s, want.String(), back, err)
		}
	})
}
