// Package exec is Wharf's "exec" runtime driver: it runs a container's
// Command as a plain process on the host, like Nomad's raw_exec, with no
// isolation at all, except on overlay networks: a container with networks
// gets network and mount namespaces of its own, a veth into each network's
// bridge and its networks' resolver as /etc/resolv.conf (netns.go).
//
// Each container gets a directory dir/<id> holding state.json (what an
// agent restart needs to adopt the process again), output.log (its stdout
// and stderr), work/ (its working directory) and, with networks,
// resolv.conf. The process runs in its own
// process group; Stop signals the whole group, and when the main process
// exits whatever is left of its group is killed, as when a container's init
// dies.
//
// It must never signal a process it cannot prove it started: before
// signalling an adopted process it checks the process's start time against
// the one recorded at start, so a reused PID is left alone. It must never
// run images (that is the docker driver's job) and never touch files
// outside its directory.
package exec
