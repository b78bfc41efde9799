package ui

// Rendering: the templates (one layout, one file per page) parsed once at
// start, a page rendered into a buffer before anything is written (a
// template error is then a clean 500, not half a page), and the error
// page every failure shows.

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// templates are the pages by name ("services" for templates/services.html),
// each parsed with the layout.
type templates struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"ago":        ago,
	"statusText": http.StatusText,
	"state":      stateClass,
	"ports":      portsText,
	"join":       strings.Join,
	"pair":       func(v *view, f stackForm) formView { return formView{v, f} },
	"sortedKV":   sortedKV,
	"gib":        func(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) },
	"lastError":  func(c api.Container) string { return c.Status.LastError() },
	"display":    func(c api.Container) string { return c.Status.DisplayState() },
}

func parseTemplates() (*templates, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		c, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := c.ParseFS(templateFS, f); err != nil {
			return nil, err
		}
		t.pages[name] = c
	}
	return t, nil
}

// view is what the layout renders: the page's title and data, and who is
// signed in.
type view struct {
	Title string
	Path  string
	Data  any
	// Signed-in only:
	Name, Org, Role, CSRF string
	Orgs                  []string
	actor                 *domain.Actor
}

// Can reports whether the signed-in actor may use the verb (a name of
// domain.Verb): pages show an action's form only then. The domain layer
// still decides when the form is sent.
func (v *view) Can(verb string) bool { return v.actor != nil && v.actor.Can(domain.Verb(verb)) }

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes page name with data, as status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, title string, data any) {
	t := h.tmpl.pages[name]
	v := &view{Title: title, Path: r.URL.Path, Data: data}
	if s != nil {
		v.actor, v.Name, v.Org, v.Role, v.CSRF = &s.actor, s.actor.Name, domain.OrgName(s.actor.Org), s.actor.Role, s.csrf
		v.Orgs = h.orgsOf(r, s)
	}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if t == nil {
		h.log.Error("ui: no such template", "page", name)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(buf, "layout.html", v); err != nil {
		h.log.Error("ui: rendering a page failed", "page", name, "err", err)
		http.Error(w, "internal server error; the server log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// orgsOf is the organizations a signed-in user may switch between (none
// for a token of no user: it acts in its own alone).
func (h *Handler) orgsOf(r *http.Request, s *session) []string {
	if s.actor.User == "" {
		return nil
	}
	me, err := h.d.Me(r.Context(), s.actor)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range me.Orgs {
		out = append(out, m.Org)
	}
	return out
}

// statusOf is the status and message to show for err (a 500's details
// stay in the log).
func statusOf(err error) (int, string) {
	status, d := errhttp.ToHTTP(err)
	return status, d.Message
}

// errorData is the error page's.
type errorData struct {
	Status  int
	Message string
}

// fail shows the error page for err.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		h.log.Error("ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.render(w, r, status, "error", s, http.StatusText(status), errorData{Status: status, Message: msg})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, nil, errNotFound)
}

// ago is how long ago t was, roughly ("3m ago"); "" for the zero time.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// stateClass is the CSS class of a state's badge: ok, warn, bad or idle.
func stateClass(state any) string {
	switch fmt.Sprint(state) {
	case "Running", "Deployed", "healthy":
		return "ok"
	case "Failing", "Unreachable", "unhealthy", "Terminated":
		return "bad"
	case "Not running", "Stopped", "Terminating", "Stopping":
		return "idle"
	}
	return "warn"
}

// portsText is a container's published ports ("8080->80/tcp").
func portsText(ps []api.PortBinding) string {
	var b []string
	for _, p := range ps {
		s := fmt.Sprintf("%d->%d/%s", p.HostPort, p.ContainerPort, p.Protocol)
		if p.HostIP != "" && p.HostIP != "0.0.0.0" {
			s = p.HostIP + ":" + s
		}
		b = append(b, s)
	}
	return strings.Join(b, ", ")
}

// kv is one label or variable.
type kv struct{ K, V string }

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}
