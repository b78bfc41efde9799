package registry

import (
	"io"
	"log/slog"
	"sync"

	"github.com/sirupsen/logrus"
)

var logOnce sync.Once

// quietLogging sends distribution's logging (logrus's standard logger,
// which nothing else in Wharf uses) to log: warnings and errors only,
// and nothing on stderr. The first registry's logger wins.
func quietLogging(log *slog.Logger) {
	logOnce.Do(func() {
		std := logrus.StandardLogger()
		std.SetOutput(io.Discard)
		std.SetLevel(logrus.WarnLevel)
		std.AddHook(slogHook{log.With("component", "registry")})
	})
}

// slogHook forwards logrus entries to slog.
type slogHook struct{ log *slog.Logger }

func (slogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelWarn
	if e.Level <= logrus.ErrorLevel {
		level = slog.LevelError
	}
	if st, ok := e.Data["http.response.status"].(int); ok && st < 500 {
		// A client's mistake (an unknown manifest, a bad digest): the
		// client is told; the server's log is not the place.
		level = slog.LevelDebug
	}
	args := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		// Request fields would log client addresses and user agents
		// only; auth headers are never among them.
		args = append(args, k, v)
	}
	h.log.Log(e.Context, level, e.Message, args...)
	return nil
}
