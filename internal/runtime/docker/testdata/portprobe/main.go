// Command portprobe is a workload of the docker driver's port and network
// mode tests (ports_test.go), built static into an image FROM scratch:
//
//	portprobe udp-echo ADDR    answer every datagram on ADDR with itself
//	portprobe interfaces       print "interfaces: NAME,NAME..." and exit
package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "portprobe:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 2 && args[0] == "udp-echo":
		return udpEcho(args[1])
	case len(args) == 1 && args[0] == "interfaces":
		ifs, err := net.Interfaces()
		if err != nil {
			return err
		}
		var names []string
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		slices.Sort(names)
		fmt.Println("interfaces: " + strings.Join(names, ","))
		return nil
	}
	return fmt.Errorf("usage: portprobe udp-echo ADDR | portprobe interfaces")
}

// udpEcho answers each datagram on addr with its own bytes, for ever.
func udpEcho(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening on", pc.LocalAddr())
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil {
			return err
		}
	}
}
