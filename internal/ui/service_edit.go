package ui

// The service edit form: a service's image and environment variables,
// changed through domain.UpdateService (the operation PATCH
// /v1/services/{id} and `wharf service update` use), which checks the
// actor's access and the new spec. A refusal for the values sent (a bad
// image, a variable the spec rejects, a service changed meanwhile) shows
// the form again with the domain's message; a refusal of the actor is the
// error page.

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// editData is the edit form's: the service, the values to show (the
// service's, or those sent when they were refused) and the refusal.
type editData struct {
	Service  *api.Service
	Image    string
	Env      string
	Revision int64
	Error    string
}

// envText is env as the form shows it: NAME=value lines, sorted.
func envText(env map[string]string) string {
	var b strings.Builder
	for _, p := range sortedKV(env) {
		b.WriteString(p.K + "=" + p.V + "\n")
	}
	return b.String()
}

// parseEnv reads the NAME=value lines of the form's field; blank lines
// and lines starting with # are skipped. A line without "=" or a name
// given twice is refused (the domain checks the names themselves).
func parseEnv(field, text string) (map[string]string, error) {
	env := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, invalid(field, "line %d, %q, is not NAME=value: write one variable a line, e.g. LOG_LEVEL=debug", i+1, line)
		}
		if _, dup := env[k]; dup {
			return nil, invalid(field, "line %d sets %s a second time: keep one line for each variable", i+1, k)
		}
		env[k] = v
	}
	return env, nil
}

func (h *Handler) editService(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.GetService(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := editData{Service: svc, Image: svc.Spec.Image, Env: envText(svc.Spec.Env), Revision: svc.Revision}
	h.render(w, r, http.StatusOK, "service_edit", s, "Edit "+svc.Name, d)
	return nil
}

// updateService sends the form's image and environment as a patch; the
// revision the form was rendered at guards against overwriting a change
// made meanwhile.
func (h *Handler) updateService(w http.ResponseWriter, r *http.Request, s *session) error {
	svc, err := h.d.GetService(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := editData{Service: svc, Image: strings.TrimSpace(r.PostFormValue("image")), Env: r.PostFormValue("env")}
	d.Revision, err = strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if err == nil {
		var patch json.RawMessage
		if patch, err = editPatch(svc, d.Image, d.Env); err == nil {
			_, err = h.d.UpdateService(r.Context(), s.actor, svc.ID, patch, d.Revision)
		}
	} else {
		err = invalid("revision", "the form lacks the service's revision; reload the page and edit again")
	}
	if err == nil {
		back(w, r, svc)
		return nil
	}
	status, msg := statusOf(err)
	if !formError(err) {
		return err
	}
	d.Error = msg
	if errors.Is(err, errdefs.ErrConflict) {
		d.Error += " (the service changed since the form was shown: reload the page to edit its current values)"
	}
	h.render(w, r, status, "service_edit", s, "Edit "+svc.Name, d)
	return nil
}

// formError is whether err refuses the values sent (shown with the form)
// rather than the actor or the request (the error page).
func formError(err error) bool {
	return errors.Is(err, errdefs.ErrInvalid) || errors.Is(err, errdefs.ErrConflict)
}

// editPatch is the spec patch for the form's values: the image (left out
// for a command service whose form left it empty) and the environment,
// replaced whole (null when empty, so that an unchanged empty environment
// changes nothing).
func editPatch(svc *api.Service, image, envText string) (json.RawMessage, error) {
	env, err := parseEnv("env", envText)
	if err != nil {
		return nil, err
	}
	p := map[string]any{"env": nil}
	if len(env) > 0 {
		p["env"] = env
	}
	if image != "" || svc.Spec.Image != "" {
		p["image"] = image
	}
	return json.Marshal(p)
}
