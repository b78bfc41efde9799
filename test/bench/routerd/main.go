// Command routerd runs Wharf's router (internal/router) alone in its own
// process for BenchmarkRouter (test/bench/router_test.go), so that the
// router's goroutines, GC and CPU time are its own and not the
// benchmark's: it is measured as the HAProxy beside it is, a separate
// process.
//
//	routerd -table table.json [-http 127.0.0.1:0] [-cpuprofile router.prof] [-bare | -floor]
//
// With -bare it serves, instead of the router, the floor that any router
// built on net/http stands on: a bare httputil.ReverseProxy sending every
// request round robin to the backends of the table's first HTTP route (no
// host matching, no metrics, no retries), with a pool of copy buffers and
// idle connections enough for every client.
//
// With -floor it serves no HTTP at all: each client connection is copied
// both ways to a backend connection of its own (floor.go), the least any
// Go proxy does.
//
// It applies the api.RouteTable in -table, prints "http ADDR" on stdout once
// it listens, and runs until its standard input closes (its parent ended)
// or it gets SIGINT or SIGTERM; then it writes the CPU profile, if asked
// for, and exits.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/router"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "routerd:", err)
		os.Exit(1)
	}
}

func run() error {
	tablePath := flag.String("table", "", "the route table to serve, as JSON (api.RouteTable)")
	httpAddr := flag.String("http", "127.0.0.1:0", "the HTTP listener's address")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	bare := flag.Bool("bare", false, "serve a bare httputil.ReverseProxy instead of the router (a reference)")
	floor := flag.Bool("floor", false, "copy bytes between each client and a backend connection of its own, no HTTP (a reference)")
	flag.Parse()
	if *tablePath == "" {
		return fmt.Errorf("no -table given: name a JSON file of an api.RouteTable")
	}
	raw, err := os.ReadFile(*tablePath)
	if err != nil {
		return err
	}
	var table api.RouteTable
	if err := json.Unmarshal(raw, &table); err != nil {
		return fmt.Errorf("the table in %s: %w", *tablePath, err)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var addr net.Addr
	if *floor {
		if len(table.HTTP) == 0 || len(table.HTTP[0].Backends) == 0 {
			return fmt.Errorf("the table in %s has no http route with backends for -floor", *tablePath)
		}
		srv, err := serveFloor(*httpAddr, table.HTTP[0].Backends)
		if err != nil {
			return err
		}
		defer srv.Close()
		addr = srv.ln.Addr()
	} else if *bare {
		if len(table.HTTP) == 0 || len(table.HTTP[0].Backends) == 0 {
			return fmt.Errorf("the table in %s has no http route with backends for -bare", *tablePath)
		}
		srv, err := serveBare(*httpAddr, table.HTTP[0].Backends)
		if err != nil {
			return err
		}
		defer srv.Close()
		addr = srv.addr
	} else {
		r, err := router.New(router.Config{HTTPAddr: *httpAddr})
		if err != nil {
			return err
		}
		defer r.Close()
		if err := r.Apply(&table); err != nil {
			return err
		}
		if addr = r.HTTPAddr(); addr == nil {
			return fmt.Errorf("the table in %s opened no HTTP listener: give it an http route and \"router\": true", *tablePath)
		}
	}
	fmt.Printf("http %s\n", addr)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-stop:
	case <-eof:
	}
	return nil
}
