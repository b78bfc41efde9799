package agent

import (
	"bufio"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
)

// facts describes this host for the hello.
func facts(a *Agent) api.AgentHello {
	h := api.AgentHello{
		Hostname:     a.cfg.Hostname,
		Addresses:    addresses(),
		OS:           goruntime.GOOS,
		Arch:         goruntime.GOARCH,
		CPUs:         goruntime.NumCPU(),
		MemoryBytes:  memTotal("/proc/meminfo"),
		AgentVersion: Version,
	}
	for _, d := range a.cfg.Drivers {
		h.Drivers = append(h.Drivers, d.Name())
	}
	return h
}

// addresses lists the host's non-loopback, non-link-local unicast addresses
// on interfaces that are up.
func addresses() []string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			var ip net.IP
			switch v := ad.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
				continue
			}
			out = append(out, ip.String())
		}
	}
	return out
}

// memTotal reads MemTotal from a meminfo file, in bytes; 0 if unknown.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(fields) > 1 && strings.EqualFold(fields[1], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}
