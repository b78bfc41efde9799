// Package install lets a fresh host join a Wharf cluster with one command.
// Its Handler serves, without authentication, GET /install.sh (a POSIX sh
// script with the server's URL, the cluster CA and the binary's SHA-256
// filled in) and GET /download/wharf-agent-linux-<arch>[.sha256] (the agent
// binary, for the server's architecture only: the agent-only build
// wharf-agent found beside the server's executable, else the server's own
// binary, whose `wharf agent` is the same agent with every other role
// linked in). Command is the one line that
// fetches the script trusting the cluster CA alone; the script then
// downloads with that CA alone and refuses a binary whose checksum differs
// from the one baked into it. Nothing here may ever tell a host to skip the
// server's certificate check (curl -k, wget --no-check-certificate): the
// script runs as root and receives the join token.
package install

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	goruntime "runtime"
	"strings"
	"sync"
	"time"
)

//go:embed install.sh
var script string

// Options configure Handler.
type Options struct {
	// ServerURL is the API URL the script uses by default, e.g.
	// https://wharf.example.com:7443.
	ServerURL string
	// CAPEM is the cluster CA certificate, baked into the script.
	CAPEM []byte
	// Binary is the file served as wharf-agent-linux-<Arch>; default
	// AgentBinary's choice.
	Binary string
	// Arch is Binary's GOARCH; default runtime.GOARCH.
	Arch   string
	Logger *slog.Logger
}

// Handler serves /install.sh and /download/.
func Handler(o Options) http.Handler {
	if o.Arch == "" {
		o.Arch = goruntime.GOARCH
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Binary == "" {
		o.Binary = AgentBinary(o.Logger)
	}
	h := &handler{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /install.sh", h.script)
	mux.HandleFunc("GET /download/{file}", h.download)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found: this server serves GET /install.sh and GET /download/"+fileName(o.Arch)+"[.sha256]", http.StatusNotFound)
	})
	return mux
}

type handler struct {
	o Options

	once sync.Once
	bin  *os.File // held open: an upgrade that replaces the file on disk does not change what is served
	size int64
	sum  string
	err  error
}

// binary opens and hashes the binary once.
func (h *handler) binary() (*os.File, int64, string, error) {
	h.once.Do(func() {
		f, err := os.Open(h.o.Binary)
		if err != nil {
			h.err = err
			return
		}
		d := sha256.New()
		n, err := io.Copy(d, f)
		if err != nil {
			_ = f.Close()
			h.err = err
			return
		}
		h.bin, h.size, h.sum = f, n, hex.EncodeToString(d.Sum(nil))
	})
	return h.bin, h.size, h.sum, h.err
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	h.o.Logger.Error("install: cannot serve the agent binary", "err", err)
	http.Error(w, "the server cannot read the agent binary it serves: "+err.Error(), http.StatusInternalServerError)
}

func (h *handler) script(w http.ResponseWriter, _ *http.Request) {
	_, _, sum, err := h.binary()
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/x-shellscript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, Render(h.o.ServerURL, h.o.CAPEM, sum, h.o.Arch))
}

// Render fills the script template in.
func Render(serverURL string, caPEM []byte, sha256, arch string) string {
	return strings.NewReplacer(
		"@@WHARF_SERVER@@", shellSafe(strings.TrimSuffix(serverURL, "/")),
		"@@WHARF_SHA256@@", shellSafe(sha256),
		"@@WHARF_ARCH@@", shellSafe(arch),
		"@@WHARF_CA_PEM@@", strings.TrimSpace(string(caPEM)),
	).Replace(script)
}

// shellSafe drops what could end a single-quoted shell string.
func shellSafe(s string) string { return strings.ReplaceAll(s, "'", "") }

func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	want := fileName(h.o.Arch)
	if name != want && name != want+".sha256" {
		http.Error(w, fmt.Sprintf("no %s here: this server serves only the agent for its own platform, %s (linux/%s); build wharf-agent for another platform from source", name, want, h.o.Arch), http.StatusNotFound)
		return
	}
	f, size, sum, err := h.binary()
	if err != nil {
		h.fail(w, err)
		return
	}
	if name == want+".sha256" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintf(w, "%s  %s\n", sum, want)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+sum+`"`)
	http.ServeContent(w, r, want, modTime(f), io.NewSectionReader(f, 0, size))
}

// fileName is what the agent binary for arch is served as.
func fileName(arch string) string { return "wharf-agent-linux-" + arch }

func modTime(f *os.File) (t time.Time) {
	if fi, err := f.Stat(); err == nil {
		t = fi.ModTime()
	}
	return t
}
