package ui

// A container's page and its console: a form that runs one command in the
// container through domain.Exec (the REST API's non-interactive exec,
// `wharf container exec`), as the signed-in actor, and shows its output
// and exit code. The command line is split into arguments here (spaces
// separate them; quotes and backslashes keep them together) and handed
// to the agent as a list: no shell on the server ever reads it.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// maxCommandLine bounds the command line the console takes.
const maxCommandLine = 8 << 10

type containerData struct {
	Container   containerRow
	ServiceName string
	// The console: the command line sent, and its result or refusal.
	Command string
	Result  *api.ExecResult
	Error   string
}

// containerPage reads the container, its service's name and node.
func (h *Handler) containerPage(r *http.Request, s *session) (*containerData, error) {
	c, err := h.d.GetContainer(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	d := &containerData{Container: h.withNodes(r, s, []api.Container{*c})[0], ServiceName: c.Spec.Service}
	if svc, err := h.d.GetService(r.Context(), s.actor, c.Spec.Service); err == nil {
		d.ServiceName = svc.Name
	}
	return d, nil
}

func (h *Handler) container(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := h.containerPage(r, s)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "container", s, d.Container.Name, d)
	return nil
}

// exec runs the form's command and shows the page with its output. The
// domain refuses an actor who may not (the error page); a refusal of the
// command itself (empty, a stopped container, no agent to reach) is shown
// with the form.
func (h *Handler) exec(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := h.containerPage(r, s)
	if err != nil {
		return err
	}
	d.Command = r.PostFormValue("cmd")
	var args []string
	if len(d.Command) > maxCommandLine {
		err = invalid("cmd", "the command line is %d bytes, more than the %d the console takes", len(d.Command), maxCommandLine)
	} else if args, err = splitArgs(d.Command); err == nil {
		var res api.ExecResult
		if res, err = h.d.Exec(r.Context(), s.actor, d.Container.ID, args); err == nil {
			d.Result = &res
		}
	}
	status := http.StatusOK
	if err != nil {
		if errors.Is(err, errdefs.ErrForbidden) || errors.Is(err, errdefs.ErrNotFound) || errors.Is(err, errdefs.ErrUnauthorized) {
			return err
		}
		status, d.Error = statusOf(err)
	}
	h.render(w, r, status, "container", s, d.Container.Name, d)
	return nil
}

// splitArgs splits a command line into arguments the way a shell would
// for plain words, and nothing more: whitespace separates arguments;
// 'single quotes' keep everything inside; "double quotes" keep everything
// but a backslash, which escapes the next \ or "; outside quotes a
// backslash escapes the next character. No variable, glob, pipe or
// redirection has a meaning (to use them, run sh -c '…' in the
// container).
func splitArgs(line string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
	)
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'':
			inArg = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, invalid("cmd", "a single quote (') is not closed: close it, or escape it as \\'")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case c == '"':
			inArg = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, invalid("cmd", "a double quote (\") is not closed: close it, or escape it as \\\"")
			}
			i = j
		case c == '\\':
			inArg = true
			if i+1 == len(rs) {
				return nil, invalid("cmd", "the command line ends with a backslash: drop it, or write \\\\ for a backslash")
			}
			i++
			cur.WriteRune(rs[i])
		default:
			inArg = true
			cur.WriteRune(c)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, invalid("cmd", "required: the command to run and its arguments, e.g. ls -l /")
	}
	return args, nil
}
