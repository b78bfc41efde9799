package apiserver

import (
	"net/http"
	"strconv"

	"github.com/wharfhq/wharf/internal/domain"
	"github.com/wharfhq/wharf/internal/errdefs"
)

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// page is a list request's ?limit= and ?cursor=.
type page struct {
	limit int
	after string
}

func parsePage(r *http.Request) (page, error) {
	p := page{limit: defaultLimit, after: r.URL.Query().Get("cursor")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, errdefs.Invalid("limit", "must be an integer from 1 to %d, got %q", maxLimit, v)
		}
		p.limit = n
	}
	return p, nil
}

// domain is the page as the domain layer takes it.
func (p page) domain() domain.Page { return domain.Page{Limit: p.limit, After: p.after} }
