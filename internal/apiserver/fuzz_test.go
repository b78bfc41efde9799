package apiserver

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzDecodeRequest posts random bodies to the endpoints that create
// objects: whatever arrives, the answer is never a 5xx (nor a panic).
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name":"web","spec":{"image":"nginx","replicas":3,"tags":["ssd","zone=a"],"strategy":"EMPTIEST_NODE"}}`,
		`{"name":"job","spec":{"command":["sleep","60"],"env":{"A":"1"}}}`,
		`{"name":"ci","admin":true}`,
		`{"name":"viewer","admin":false}`,
		`{"name":"x","spec":{"replicas":-1}}`,
		`{"name":"x","spec":{"replicas":1e400}}`,
		`{"name":"x","spec":{"env":{"":"\u0000"},"command":[""]}}`,
		`{"name":1}`, `{"name":"a"} {}`, `{"admin":"yes"}`, `[]`, `null`, `""`, `{`, ``, "\xff\xfe", `{"a":{"b":[[[[`,
	} {
		f.Add([]byte(seed))
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/services", "/v1/tokens"} {
			req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.admin)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, resp.StatusCode, b)
			}
		}
	})
}
