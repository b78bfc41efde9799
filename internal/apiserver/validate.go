package apiserver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/errdefs"
)

// ifMatch reads the If-Match header: the revision a write must find, or 0.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil || rev <= 0 {
		return 0, errdefs.Invalid("If-Match", "must be an object revision (a positive integer), got %q", r.Header.Get("If-Match"))
	}
	return rev, nil
}

// ifMatchOr is the If-Match revision, else the body's "revision" (0: none).
func ifMatchOr(r *http.Request, body int64) (int64, error) {
	rev, err := ifMatch(r)
	if rev == 0 && err == nil {
		rev = body
	}
	return rev, err
}
