package apiserver

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
	"github.com/wharfhq/wharf/internal/errhttp"
)

// TestDiskGuard: under the reserve, writes get 507 insufficient_storage
// with a message naming the data dir and what to do, reads pass; once
// space returns (or cannot be measured) writes pass again.
func TestDiskGuard(t *testing.T) {
	var free uint64 = 1 << 30
	var measureErr error
	g := NewDiskGuard("/var/lib/wharf", 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.free = func(string) (uint64, error) { return free, measureErr }
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	call := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("{}")))
		return rec
	}

	if rec := call("POST", "/v1/services"); rec.Code != http.StatusNoContent {
		t.Fatalf("1 GiB free: POST answered %d", rec.Code)
	}
	free = DefaultMinFreeDisk - 1
	for _, m := range []string{"POST", "PATCH", "PUT", "DELETE"} {
		rec := call(m, "/v1/services/web")
		if rec.Code != http.StatusInsufficientStorage {
			t.Fatalf("nearly full: %s answered %d, want 507", m, rec.Code)
		}
		var body api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Error.Code != api.CodeInsufficientStorage {
			t.Errorf("code %q, want %q", body.Error.Code, api.CodeInsufficientStorage)
		}
		for _, want := range []string{"/var/lib/wharf", "nearly full", "free space", "reads still work"} {
			if !strings.Contains(body.Error.Message, want) {
				t.Errorf("message %q does not say %q", body.Error.Message, want)
			}
		}
	}
	for _, r := range [][2]string{{"GET", "/v1/services"}, {"HEAD", "/v1/services"}, {"POST", "/agent/v1/heartbeat"}} {
		if rec := call(r[0], r[1]); rec.Code != http.StatusNoContent {
			t.Errorf("nearly full: %s %s answered %d, want it let through", r[0], r[1], rec.Code)
		}
	}
	measureErr = errors.New("statfs: broken")
	if rec := call("POST", "/v1/services"); rec.Code != http.StatusNoContent {
		t.Errorf("unmeasurable: POST answered %d, want it let through", rec.Code)
	}
	measureErr, free = nil, DefaultMinFreeDisk
	if rec := call("POST", "/v1/services"); rec.Code != http.StatusNoContent {
		t.Errorf("space back: POST answered %d", rec.Code)
	}
}

// TestInsufficientStorageStatus: the error table maps the sentinel to 507.
func TestInsufficientStorageStatus(t *testing.T) {
	status, d := errhttp.ToHTTP(newErr(errdefs.ErrInsufficientStorage, "full"))
	if status != http.StatusInsufficientStorage || d.Code != api.CodeInsufficientStorage || d.Message != "full" {
		t.Errorf("got %d %+v", status, d)
	}
}
