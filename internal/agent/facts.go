package agent

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wharfhq/wharf/api"
)

// engineVersioner is a driver that can name its engine's version (docker).
type engineVersioner interface {
	EngineVersion(ctx context.Context) (string, error)
}

// facts describes this host for the hello. Time is set last, just before
// the hello is sent.
func facts(ctx context.Context, a *Agent) api.AgentHello {
	addrs := slices.Clone(a.cfg.Addresses)
	if len(addrs) == 0 {
		addrs = addresses()
	}
	h := api.AgentHello{
		Hostname:     a.cfg.Hostname,
		Addresses:    addrs,
		OS:           goruntime.GOOS,
		Kernel:       kernelRelease(),
		DiskBytes:    diskBytes(a.cfg.DataDir),
		Arch:         goruntime.GOARCH,
		CPUs:         goruntime.NumCPU(),
		MemoryBytes:  memTotal("/proc/meminfo"),
		AgentVersion: Version,
		AllowBuilds:  a.imageBuilder() != nil,
	}
	if a.net != nil {
		h.OverlayAddress = a.net.address()
	}
	h.Address = a.advertiseAddress()
	for _, d := range a.cfg.Drivers {
		h.Drivers = append(h.Drivers, d.Name())
		if ev, ok := d.(engineVersioner); ok && h.EngineVersion == "" {
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			v, err := ev.EngineVersion(vctx)
			cancel()
			if err != nil {
				a.log.Warn("engine version unknown", "driver", d.Name(), "err", err)
				continue
			}
			h.EngineVersion = v
		}
	}
	h.Time = time.Now().UTC()
	return h
}

// kernelRelease is the running kernel's release (uname -r); "" if unknown.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		if r := unix.ByteSliceToString(u.Release[:]); r != "" {
			return r
		}
	}
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// diskBytes is the total size of the filesystem holding dir; 0 if unknown.
func diskBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Blocks) * int64(st.Bsize) //nolint:gosec // sizes fit in int64
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
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || overlayDevice(ifc.Name) {
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

// noteLocal keeps the local address of a new connection to the server.
func (a *Agent) noteLocal(local net.Addr) {
	tcp, ok := local.(*net.TCPAddr)
	if !ok {
		return
	}
	if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
		a.mu.Lock()
		a.local = ip.Unmap()
		a.mu.Unlock()
	}
}

// advertiseAddress is api.Node.Address: the configured one, else the
// local address of the connection to the server.
func (a *Agent) advertiseAddress() string {
	if a.cfg.AdvertiseAddress != "" {
		return a.cfg.AdvertiseAddress
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.local.IsValid() {
		return ""
	}
	return a.local.String()
}
