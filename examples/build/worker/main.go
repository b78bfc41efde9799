// Command worker is the worker of the compose build example
// (examples/build): every $INTERVAL (5s) it GETs each container of the
// services it is linked to, found in the link variables Wharf sets
// (WEB_1_PORT=tcp://addr:port, ...), and logs what they answer. `make
// example-build` builds it, static, into this directory, which is its
// build context.
package main

import (
	"cmp"
	"io"
	"log"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// linkRE matches the first port's URL of a linked container: WEB_1_PORT.
var linkRE = regexp.MustCompile(`^[A-Z0-9_]+_[0-9]+_PORT$`)

func main() {
	every, err := time.ParseDuration(cmp.Or(os.Getenv("INTERVAL"), "5s"))
	if err != nil {
		log.Fatalf("worker: INTERVAL: %v", err)
	}
	client := &http.Client{Timeout: 3 * time.Second}
	for {
		targets := links()
		if len(targets) == 0 {
			log.Print("worker: no linked container yet")
		}
		for _, url := range targets {
			resp, err := client.Get(url)
			if err != nil {
				log.Printf("worker: %s: %v", url, err)
				continue
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			log.Printf("worker: %s: %s", url, strings.TrimSpace(string(body)))
		}
		time.Sleep(every)
	}
}

// links are the HTTP URLs of the linked containers, sorted.
func links() []string {
	var urls []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if linkRE.MatchString(k) && strings.HasPrefix(v, "tcp://") {
			urls = append(urls, "http://"+strings.TrimPrefix(v, "tcp://")+"/")
		}
	}
	sort.Strings(urls)
	return urls
}
