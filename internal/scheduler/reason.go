package scheduler

import (
	"strconv"
	"strings"
)

// rejections counts why nodes refused a class; each node counts once, under
// the first test it failed (state, then driver, then tags in sorted order).
type rejections struct {
	notDeployed int
	noDriver    int
	noTag       []int // per tag of the class
}

func (r *rejections) addTag(ntags, i int) {
	if r.noTag == nil {
		r.noTag = make([]int, ntags)
	}
	r.noTag[i]++
}

// reason renders the counts as one line, e.g.
// "0 of 5 nodes: 3 not Deployed, 2 lack tag zone=external".
func (r *rejections) reason(total int, cl *class) string {
	if total == 0 {
		return "no nodes"
	}
	var parts []string
	if r.notDeployed > 0 {
		parts = append(parts, strconv.Itoa(r.notDeployed)+" not Deployed")
	}
	if r.noDriver > 0 {
		parts = append(parts, strconv.Itoa(r.noDriver)+" "+lack(r.noDriver)+" driver "+cl.driver)
	}
	for i, n := range r.noTag {
		if n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+lack(n)+" tag "+cl.tags[i].raw)
		}
	}
	noun := "nodes"
	if total == 1 {
		noun = "node"
	}
	return "0 of " + strconv.Itoa(total) + " " + noun + ": " + strings.Join(parts, ", ")
}

func lack(n int) string {
	if n == 1 {
		return "lacks"
	}
	return "lack"
}
