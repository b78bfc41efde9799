// Command web is the web service of the compose build example
// (examples/build): an HTTP server on $PORT (8080) that answers every
// request with $GREETING, its host name and how many requests it has
// served, and 200 on /healthz. `make examples` builds it, static,
// into this directory, which is its build context.
package main

import (
	"cmp"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

func main() {
	port := cmp.Or(os.Getenv("PORT"), "8080")
	greeting := cmp.Or(os.Getenv("GREETING"), "hello")
	host, _ := os.Hostname()
	var served atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s from %s (request %d)\n", greeting, host, served.Add(1))
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("web: %q on :%s", greeting, port)
	log.Fatal(srv.ListenAndServe())
}
