// Package fake is Wharf's "fake" runtime driver, for tests and for hollow
// nodes in benchmarks: containers exist only in memory and are steered by
// their own environment (see the Env constants). A container costs a few
// hundred bytes and no goroutine; one that exits by itself costs a timer.
//
// It must never start a process, open a port or touch the file system, and
// it cannot adopt anything: a new Driver starts empty.
package fake
