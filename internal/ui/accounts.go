package ui

// The organizations and teams pages, through the domain operations `wharf
// org ...` and `wharf team ...` use, as the signed-in actor: the
// organizations the actor belongs to (every one, for the server's
// administrators) with the teams and access the domain gives the user in
// each; the teams of the current organization with their access and
// members; making an organization (the domain lets only the server's
// administrators), making a team, adding and removing a member, and
// deleting a team (by typing its name). The forms show only to an actor
// whose verbs allow them; the domain decides when one is sent.

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/domain"
)

// orgRow is one organization as the organizations page shows it.
type orgRow struct {
	Name    string
	Current bool
	Teams   []string          // the user's teams there (from domain.Me)
	Access  map[string]string // the user's access there, by area
	Quotas  api.Quotas
}

type orgsData struct {
	Orgs        []orgRow
	Me          api.Me
	Name, Owner string // the create form's values, shown again after a refusal
	Error       string
	Created     string
}

func (h *Handler) orgsPage(w http.ResponseWriter, r *http.Request, s *session, status int, d orgsData) error {
	l, err := h.d.ListOrgs(r.Context(), s.actor)
	if err != nil {
		return err
	}
	me, err := h.d.Me(r.Context(), s.actor)
	if err != nil {
		return err
	}
	d.Me = me
	mine := map[string]api.Membership{}
	for _, m := range me.Orgs {
		mine[m.Org] = m
	}
	for _, o := range l.Items {
		row := orgRow{Name: o.ID, Current: o.ID == me.Org, Teams: mine[o.ID].Teams, Access: mine[o.ID].Access, Quotas: o.Quotas}
		if row.Current && row.Access == nil {
			row.Access = me.Access // a token of no user: its access where it acts
		}
		d.Orgs = append(d.Orgs, row)
	}
	slices.SortFunc(d.Orgs, func(a, b orgRow) int { return cmp.Compare(a.Name, b.Name) })
	d.Created = r.URL.Query().Get("created")
	h.render(w, r, status, "orgs", s, "Organizations", d)
	return nil
}

func (h *Handler) orgs(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.orgsPage(w, r, s, http.StatusOK, orgsData{})
}

// createOrg makes an organization owned by the user named (domain.CreateOrg,
// the server's administrators only).
func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, s *session) error {
	req := api.CreateOrgRequest{Name: strings.TrimSpace(r.PostFormValue("name")), Owner: strings.TrimSpace(r.PostFormValue("owner"))}
	if _, err := h.d.CreateOrg(r.Context(), s.actor, req); err != nil {
		status, msg := statusOf(err)
		if status >= 500 || status == http.StatusForbidden {
			return err
		}
		return h.orgsPage(w, r, s, status, orgsData{Name: req.Name, Owner: req.Owner, Error: msg})
	}
	http.Redirect(w, r, "/ui/orgs?created="+url.QueryEscape(req.Name), http.StatusSeeOther)
	return nil
}

// accessField is one area's level in a team form.
type accessField struct {
	Area, Level string
}

type teamsData struct {
	Teams  []api.Team
	Areas  []string
	Levels []string
	// The create form's values, shown again after a refusal.
	Name, Members string
	Access        []accessField
	Error         string
}

// areaNames are the areas as team access names them, in table order.
func areaNames() []string {
	out := make([]string, len(domain.Areas))
	for i, a := range domain.Areas {
		out[i] = string(a)
	}
	return out
}

func (h *Handler) teamsPage(w http.ResponseWriter, r *http.Request, s *session, status int, d teamsData) error {
	l, err := h.d.ListTeams(r.Context(), s.actor)
	if err != nil {
		return err
	}
	d.Teams = l.Items
	slices.SortFunc(d.Teams, func(a, b api.Team) int { return cmp.Compare(a.Name, b.Name) })
	d.Areas, d.Levels = areaNames(), domain.Levels
	if d.Access == nil {
		for _, a := range d.Areas {
			d.Access = append(d.Access, accessField{Area: a, Level: "none"})
		}
	}
	h.render(w, r, status, "teams", s, "Teams", d)
	return nil
}

func (h *Handler) teams(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.teamsPage(w, r, s, http.StatusOK, teamsData{})
}

// splitMembers reads a members field: user names separated by commas,
// spaces or lines.
func splitMembers(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// createTeam makes a team of the current organization (domain.CreateTeam,
// as `wharf team create`).
func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request, s *session) error {
	d := teamsData{Name: strings.TrimSpace(r.PostFormValue("name")), Members: r.PostFormValue("members")}
	req := api.TeamRequest{Name: d.Name, Access: map[string]string{}}
	for _, a := range areaNames() {
		lvl := r.PostFormValue("access." + a)
		if lvl != "" {
			req.Access[a] = lvl
		}
		d.Access = append(d.Access, accessField{Area: a, Level: cmp.Or(lvl, "none")})
	}
	members := splitMembers(d.Members)
	req.Members = &members
	t, err := h.d.CreateTeam(r.Context(), s.actor, req)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 || status == http.StatusForbidden {
			return err
		}
		d.Error = msg
		return h.teamsPage(w, r, s, status, d)
	}
	http.Redirect(w, r, "/ui/teams/"+url.PathEscape(t.Name), http.StatusSeeOther)
	return nil
}

type teamData struct {
	Team  api.Team
	User  string // the add form's value after a refusal
	Error string
}

func (h *Handler) teamPage(w http.ResponseWriter, r *http.Request, s *session, status int, d teamData) error {
	t, err := h.d.GetTeam(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	d.Team = t
	h.render(w, r, status, "team", s, "Team "+t.Name, d)
	return nil
}

func (h *Handler) team(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.teamPage(w, r, s, http.StatusOK, teamData{})
}

// backToTeam redirects to the team's page.
func backToTeam(w http.ResponseWriter, r *http.Request, t api.Team) {
	http.Redirect(w, r, "/ui/teams/"+url.PathEscape(t.Name), http.StatusSeeOther)
}

// addMember puts a user in the team (domain.AddMember, as `wharf team add`).
func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, s *session) error {
	user := strings.TrimSpace(r.PostFormValue("user"))
	t, err := h.d.AddMember(r.Context(), s.actor, r.PathValue("id"), user)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 || status == http.StatusForbidden || status == http.StatusNotFound {
			return err
		}
		return h.teamPage(w, r, s, status, teamData{User: user, Error: msg})
	}
	backToTeam(w, r, t)
	return nil
}

// removeMember takes a user out of the team (domain.RemoveMember, as
// `wharf team rm-member`; the owners team keeps its last member).
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, s *session) error {
	user := r.PostFormValue("user")
	t, err := h.d.RemoveMember(r.Context(), s.actor, r.PathValue("id"), user)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 || status == http.StatusForbidden || status == http.StatusNotFound {
			return err
		}
		return h.teamPage(w, r, s, status, teamData{Error: msg})
	}
	backToTeam(w, r, t)
	return nil
}

// deleteTeam deletes the team once its name was typed to confirm
// (domain.DeleteTeam, as `wharf team rm`).
func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request, s *session) error {
	t, err := h.d.GetTeam(r.Context(), s.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got != t.Name {
		return invalid("confirm", "type the team's name, %q, to confirm its deletion (got %q)", t.Name, got)
	}
	if err := h.d.DeleteTeam(r.Context(), s.actor, t.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/teams", http.StatusSeeOther)
	return nil
}
