package errhttp

import (
	"encoding/json"
	"net/http"

	"github.com/wharfhq/wharf/api"
)

// Write answers err as the shared JSON error body, with the status and code
// of its kind (ToHTTP). The response must not have begun.
func Write(w http.ResponseWriter, err error) {
	status, d := ToHTTP(err)
	WriteDetail(w, status, d)
}

// WriteDetail answers d as the shared JSON error body with status, for a
// caller that needed the detail first (to log it, to set headers).
func WriteDetail(w http.ResponseWriter, status int, d api.ErrorDetail) {
	b, err := json.Marshal(api.ErrorBody{Error: d})
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
