package compose

import (
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// compose-go reports some problems (an unset variable, an obsolete key)
// by logging them through logrus's standard logger instead of returning
// them. Load captures those lines and turns them into warnings placed in
// the files, so that nothing reaches the user's terminal unformatted and
// --strict sees them too. The logger is global: loads that capture it run
// one at a time.
var logMu sync.Mutex

// collector is a logrus hook that keeps the messages of warnings and worse.
type collector struct{ msgs []string }

func (c *collector) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (c *collector) Fire(e *logrus.Entry) error {
	c.msgs = append(c.msgs, e.Message)
	return nil
}

// captureLogs runs fn with compose-go's log lines collected, not printed.
func captureLogs(fn func()) []string {
	logMu.Lock()
	defer logMu.Unlock()
	std := logrus.StandardLogger()
	out, hooks := std.Out, std.ReplaceHooks(logrus.LevelHooks{})
	c := &collector{}
	std.SetOutput(io.Discard)
	std.AddHook(c)
	defer func() {
		std.SetOutput(out)
		std.ReplaceHooks(hooks)
	}()
	fn()
	return c.msgs
}

var unsetRE = regexp.MustCompile(`^The "([^"]+)" variable is not set\. Defaulting to a blank string\.$`)

// logWarnings turns captured log lines into warnings. The obsolete
// version key is already reported, with its line, by the key check.
func (w *warner) logWarnings(srcs []*source, msgs []string) {
	for _, m := range msgs {
		if strings.Contains(m, "`version` is obsolete") {
			continue
		}
		if v := unsetRE.FindStringSubmatch(m); v != nil {
			w.add(findVariable(srcs, v[1]), "$"+v[1], "is not set; it is replaced by an empty string (set it, put it in .env, or write ${"+v[1]+":-default})")
			continue
		}
		file := ""
		if len(srcs) > 0 {
			file = srcs[0].display
		}
		w.add(loc{file: file}, "compose", m)
	}
}
