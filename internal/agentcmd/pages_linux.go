package agentcmd

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropBinaryPages unmaps, from this process, the pages of its own
// executable's read-only mappings (code, read-only data) that it has
// touched so far, and returns how many bytes of mappings it advised. Most
// of them were touched once, by the package init functions and the join,
// and are never used again; the kernel maps the ones the running agent
// still uses back in on their next touch, from the page cache, where all
// of them stay (clean, shared, reclaimable) as before: this lowers the
// agent's resident set, not what the host holds for the file. Writable
// mappings are left alone: advising them would lose their contents.
func dropBinaryPages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		// The path may hold spaces, and ends in " (deleted)" once an
		// upgrade has replaced the file, as /proc/self/exe does then.
		if len(fields) < 6 || strings.Join(fields[5:], " ") != exe || strings.Contains(fields[1], "w") {
			continue
		}
		from, to, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(from, 16, 64)
		end, err2 := strconv.ParseUint(to, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); errno != 0 {
			return total, fmt.Errorf("madvise %s: %w", fields[0], errno)
		}
		total += int64(end - start)
	}
	return total, sc.Err()
}
