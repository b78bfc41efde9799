package scheduler

import (
	"testing"

	"github.com/wharfhq/wharf/api"
)

// TestImageAffinityByName: image==NAME matches an image by name whatever
// its tag or digest, as Swarm classic did; a tag in the value must match.
func TestImageAffinityByName(t *testing.T) {
	db := svc("db", "exec")
	db.Spec.Image = "registry:5000/redis:7.2@sha256:abc"
	nodes := []*api.Node{deployed("n1", nil), deployed("n2", nil)}
	for value, want := range map[string]string{
		"registry:5000/redis":     "n2",
		"registry:5000/redis:7.2": "n2",
		"registry:5000/redis:6":   "",
		"/redis/":                 "n2",
		"registry:5000/re*":       "n2",
	} {
		app := svc("app", "exec")
		app.Spec.Affinities = []string{"image==" + value}
		res := Place(nodes, []*api.Container{running(db, 1, "n2")}, []Request{request(app, "a1", 1)})
		got := ""
		if len(res.Placements) == 1 {
			got = res.Placements[0].NodeID
		}
		if got != want {
			t.Errorf("image==%s placed on %q, want %q (%v)", value, got, want, res.Unplaced)
		}
	}
	for ref, name := range map[string]string{"redis": "redis", "redis:7": "redis", "host:5000/a/b:1@sha256:x": "host:5000/a/b", "host:5000/a": "host:5000/a"} {
		if got := ImageName(ref); got != name {
			t.Errorf("ImageName(%q) = %q, want %q", ref, got, name)
		}
	}
}

// TestBroken: what a node's label change breaks.
func TestBroken(t *testing.T) {
	s := svc("db", "exec", "role=db")
	s.Spec.Constraints = []string{"storage==ssd", "zone==~a"}
	for labels, want := range map[[2]string]string{
		{"db", "ssd"}: "", {"db", "hdd"}: "fails storage==ssd", {"web", "ssd"}: "lacks tag role=db",
	} {
		n := deployed("n1", map[string]string{"role": labels[0], "storage": labels[1]})
		if got := Broken(n, s); got != want {
			t.Errorf("labels %v: Broken = %q, want %q", labels, got, want)
		}
	}
}
