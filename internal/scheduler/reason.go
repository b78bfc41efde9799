package scheduler

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Filter stages, in the order nodes go through them.
const (
	stageState = iota
	stageDriver
	stageTag
	stageConstraint
	stageAffinity
	stagePort
	stageReservation
)

// rejections counts why nodes refused a class; each node counts once, under
// the first test it failed.
type rejections struct {
	buckets []bucket
}

type bucket struct {
	stage, sub       int
	singular, plural string // "lacks tag x" / "lack tag x"
	n                int
}

func (r *rejections) add(stage, sub int, singular, plural string) {
	for i := range r.buckets {
		if b := &r.buckets[i]; b.stage == stage && b.sub == sub {
			b.n++
			return
		}
	}
	r.buckets = append(r.buckets, bucket{stage: stage, sub: sub, singular: singular, plural: plural, n: 1})
}

// reason renders the counts as one line, e.g.
// "0 of 5 nodes: 2 not Deployed, 3 fail zone==external".
func (r *rejections) reason(total int) string {
	if total == 0 {
		return "no nodes"
	}
	bs := slices.Clone(r.buckets)
	slices.SortFunc(bs, func(a, b bucket) int {
		return cmp.Or(cmp.Compare(a.stage, b.stage), cmp.Compare(a.sub, b.sub))
	})
	parts := make([]string, 0, len(bs))
	for _, b := range bs {
		text := b.plural
		if b.n == 1 {
			text = b.singular
		}
		parts = append(parts, itoa(b.n)+" "+text)
	}
	noun := "nodes"
	if total == 1 {
		noun = "node"
	}
	return "0 of " + itoa(total) + " " + noun + ": " + strings.Join(parts, ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }
