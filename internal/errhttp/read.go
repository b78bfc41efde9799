package errhttp

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Error is an error answer read back from the other side: its status, its
// wire code and message. It counts as the errdefs kind of its code
// (errors.Is(err, errdefs.ErrNotFound) for a not_found), or, for an answer
// without a code this side knows, of its status.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	kind    error // nil: no kind (internal, or unknown)
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the errdefs kind of the answer (nil when it has none).
func (e *Error) Unwrap() error { return e.kind }

// Read turns a failed response (its status is not 2xx) into an *Error.
// It reads the shared JSON error body; an answer in another form (plain
// text, from a peer of an older version) keeps its text as the message and
// gets the code and kind of its status.
func Read(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return Parse(resp.StatusCode, resp.Status, b)
}

// Parse is Read on a status (and its text, such as "404 Not Found") and a
// body already read.
func Parse(status int, statusText string, body []byte) error {
	e := &Error{Status: status}
	var eb api.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message, e.Field = eb.Error.Code, eb.Error.Message, eb.Error.Field
		for _, r := range table {
			if r.code == e.Code {
				e.kind = r.kind
				return e
			}
		}
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	if e.Message == "" {
		e.Message = statusText
	}
	for _, r := range table {
		if r.status == status {
			e.kind = r.kind
			if e.Code == "" {
				e.Code = r.code
			}
			return e
		}
	}
	if e.Code == "" {
		e.Code = api.CodeInternal
	}
	return e
}
