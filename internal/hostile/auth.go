package hostile

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Attempt is one guess and what the server answered.
type Attempt struct {
	Status     int
	Code       string // the error body's code, if any
	RetryAfter string // the Retry-After header, if any
}

// Refused reports whether the attempt was throttled: 429 with Retry-After.
func (a Attempt) Refused() bool { return a.Status == http.StatusTooManyRequests && a.RetryAfter != "" }

// GuessTokens plays an API token guesser: n requests to GET
// baseURL/v1/nodes, each with a fresh random, well-formed but wrong token.
func GuessTokens(c *http.Client, baseURL string, n int) ([]Attempt, error) {
	out := make([]Attempt, 0, n)
	for range n {
		req, err := http.NewRequest("GET", strings.TrimSuffix(baseURL, "/")+"/v1/nodes", nil)
		if err != nil {
			return out, err
		}
		req.Header.Set("Authorization", "Bearer wharf_"+randomHex(32))
		a, err := send(c, req)
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// GuessJoins plays a join token guesser: n POST baseURL/v1/join, each with
// a fresh random join token for the cluster whose CA digest is caDigest (the
// digest is public: anyone who can reach the API reads /v1/ca).
func GuessJoins(c *http.Client, baseURL, caDigest string, n int) ([]Attempt, error) {
	out := make([]Attempt, 0, n)
	for range n {
		body, _ := json.Marshal(map[string]any{
			"token": "WHARF-1-" + caDigest + "-" + randomHex(32), "hostname": "guesser", "csr": "x",
		})
		req, err := http.NewRequest("POST", strings.TrimSuffix(baseURL, "/")+"/v1/join", bytes.NewReader(body))
		if err != nil {
			return out, err
		}
		req.Header.Set("Content-Type", "application/json")
		a, err := send(c, req)
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

func send(c *http.Client, req *http.Request) (Attempt, error) {
	resp, err := c.Do(req)
	if err != nil {
		return Attempt{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var eb struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &eb)
	return Attempt{Status: resp.StatusCode, Code: eb.Error.Code, RetryAfter: resp.Header.Get("Retry-After")}, nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
