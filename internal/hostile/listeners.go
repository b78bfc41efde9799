package hostile

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listener is one listening socket of a process, as another local user
// would find it: Network is "unix" or "tcp"; Addr is a socket file's path,
// "@name" for an abstract unix socket, or host:port.
type Listener struct {
	Network string `json:"network"`
	Addr    string `json:"addr"`
}

// Abstract reports whether l is an abstract unix socket, which has no file
// and so no permissions: any local user can connect to it.
func (l Listener) Abstract() bool { return l.Network == "unix" && strings.HasPrefix(l.Addr, "@") }

func (l Listener) String() string { return l.Network + ":" + l.Addr }

// Listeners lists every listening unix and TCP socket that process pid
// holds open, from /proc/<pid>/fd and /proc/<pid>/net (which needs the
// rights of pid's user, or root).
func Listeners(pid int) ([]Listener, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	var out []Listener
	unix, err := unixListeners(pid)
	if err != nil {
		return nil, err
	}
	for ino, path := range unix {
		if inodes[ino] {
			out = append(out, Listener{Network: "unix", Addr: path})
		}
	}
	for _, f := range []string{"tcp", "tcp6"} {
		tcp, err := tcpListeners(pid, f)
		if err != nil {
			return nil, err
		}
		for ino, addr := range tcp {
			if inodes[ino] {
				out = append(out, Listener{Network: "tcp", Addr: addr})
			}
		}
	}
	return out, nil
}

// socketInodes is the set of socket inodes among pid's open files.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return inodes, nil
}

// unixListeners maps inode to path for the listening unix sockets in
// pid's network namespace. Columns: Num RefCount Protocol Flags Type St
// Inode Path; a listening socket has the accept flag 0x10000.
func unixListeners(pid int) (map[string]string, error) {
	rows, err := procRows(fmt.Sprintf("/proc/%d/net/unix", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range rows {
		if len(f) < 8 {
			continue // unnamed: a socketpair or an unbound socket
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&0x10000 == 0 {
			continue
		}
		out[f[6]] = f[7]
	}
	return out, nil
}

// tcpListeners maps inode to host:port for the sockets in state LISTEN
// (0A) of /proc/<pid>/net/<file>.
func tcpListeners(pid int, file string) (map[string]string, error) {
	rows, err := procRows(fmt.Sprintf("/proc/%d/net/%s", pid, file))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil // no IPv6
		}
		return nil, err
	}
	out := map[string]string{}
	for _, f := range rows {
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		addr, err := procAddr(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out[f[9]] = addr
	}
	return out, nil
}

// procAddr decodes /proc/net/tcp's "0100007F:1F90": the IP as host-order
// 32-bit words in hex, the port in hex.
func procAddr(s string) (string, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 { // each 32-bit word is little-endian
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return "", fmt.Errorf("bad port in %q", s)
	}
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1) // reach a wildcard listener on loopback
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10)), nil
}

// procRows splits a /proc/net table into fields, without its header.
func procRows(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var rows [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for first := true; sc.Scan(); first = false {
		if !first {
			rows = append(rows, strings.Fields(sc.Text()))
		}
	}
	return rows, sc.Err()
}
