package ui

// Stack deploys from a compose file pasted or uploaded in the browser, and
// stack removal. "Show plan" calls domain.DeployComposeText as a dry run
// and shows what would change, with the file carried in a hidden field;
// "Apply" calls it again for real. The domain loads the file with
// compose.LoadUntrusted (nothing of the server's environment or files is
// read) and decides who may deploy; a refusal of the values sent shows the
// form again with the domain's message and the user's text.

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wharfhq/wharf/internal/compose"
	"github.com/wharfhq/wharf/internal/domain"
)

// maxComposeForm bounds the body of a stack deploy form: the compose file
// (at most compose.MaxUntrusted), uploaded or pasted, and its variables.
const maxComposeForm = 2*compose.MaxUntrusted + 64<<10

// stackForm is the deploy form's values, and what the last press gave: a
// refusal, or the plan.
type stackForm struct {
	Name    string
	StackID string // set when the form updates an existing stack (name fixed)
	Compose string
	File    string // the uploaded file's name, for messages
	Vars    string
	Error   string
	Plan    *domain.ComposeDeploy
}

// formView is what the stackform template renders: the page's view (its
// form token) and the form.
type formView struct {
	V *view
	F stackForm
}

// stacksData is the stacks page's: the list and the deploy form.
type stacksData struct {
	Stacks any
	Form   stackForm
}

// Counts sums a plan up by action.
func (f stackForm) Counts() map[string]int {
	out := map[string]int{}
	if f.Plan != nil {
		for _, e := range f.Plan.Result.Plan {
			out[e.Action]++
		}
	}
	return out
}

// readStackForm reads the form's fields; an uploaded file, when one was
// chosen, replaces the pasted text.
func readStackForm(r *http.Request) (stackForm, error) {
	f := stackForm{
		Name:    strings.TrimSpace(r.PostFormValue("name")),
		StackID: r.PostFormValue("stack"),
		Compose: r.PostFormValue("compose"),
		File:    r.PostFormValue("filename"),
		Vars:    r.PostFormValue("vars"),
	}
	if r.MultipartForm == nil {
		return f, nil
	}
	fh := r.MultipartForm.File["upload"]
	if len(fh) == 0 || fh[0].Size == 0 {
		return f, nil
	}
	file, err := fh[0].Open()
	if err != nil {
		return f, err
	}
	defer func() { _ = file.Close() }()
	// One byte more than the domain takes, so that it says the file is
	// too large.
	b, err := io.ReadAll(io.LimitReader(file, compose.MaxUntrusted+1))
	if err != nil {
		return f, err
	}
	f.Compose, f.File = string(b), fh[0].Filename
	return f, nil
}

// planStack shows the plan of the form's file (a dry run).
func (h *Handler) planStack(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.deployStackForm(w, r, s, true)
}

// applyStack deploys the form's file, then shows the stack.
func (h *Handler) applyStack(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.deployStackForm(w, r, s, false)
}

func (h *Handler) deployStackForm(w http.ResponseWriter, r *http.Request, s *session, dryRun bool) error {
	f, err := readStackForm(r)
	if err == nil && f.StackID != "" {
		// Updating a stack: its name, not a field the form could change.
		st, gerr := h.d.GetStack(r.Context(), s.actor, f.StackID)
		if gerr != nil {
			return gerr
		}
		f.Name = st.Name
	}
	var vars map[string]string
	if err == nil {
		vars, err = parseEnv("vars", f.Vars)
	}
	var res domain.ComposeDeploy
	if err == nil {
		res, err = h.d.DeployComposeText(r.Context(), s.actor, f.Name, f.File, []byte(f.Compose), vars, dryRun)
	}
	if err != nil {
		if !formError(err) {
			return err
		}
		var status int
		status, f.Error = statusOf(err)
		h.render(w, r, status, "stack_deploy", s, "Deploy a stack", f)
		return nil
	}
	if !dryRun {
		http.Redirect(w, r, "/ui/stacks/"+url.PathEscape(res.Result.Stack.ID), http.StatusSeeOther)
		return nil
	}
	f.Name, f.Plan = res.Name, &res
	h.render(w, r, http.StatusOK, "stack_deploy", s, "Plan of "+res.Name, f)
	return nil
}

// confirmRemoveStack asks for the stack's name before removing it.
func (h *Handler) confirmRemoveStack(w http.ResponseWriter, r *http.Request, s *session) error {
	st, err := h.d.GetStack(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "stack_remove", s, "Remove "+st.Name, st)
	return nil
}

// removeStack removes a stack once its name was typed to confirm.
func (h *Handler) removeStack(w http.ResponseWriter, r *http.Request, s *session) error {
	st, err := h.d.GetStack(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got != st.Name {
		return invalid("confirm", "type the stack's name, %q, to confirm its removal (got %q)", st.Name, got)
	}
	if _, err := h.d.RemoveStack(r.Context(), s.actor, st.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/stacks", http.StatusSeeOther)
	return nil
}
