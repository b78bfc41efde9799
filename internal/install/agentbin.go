package install

import (
	"debug/elf"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
)

// AgentName is the agent-only build's file name; `make build` puts it
// beside the wharf binary (bin/wharf-agent), where AgentBinary looks.
const AgentName = "wharf-agent"

// AgentBinary is the binary /install.sh installs: AgentName beside the
// running executable when it is there and built for this machine's
// architecture (the server serves its own architecture only), else the
// running executable itself, with a warning: its `wharf agent` works the
// same, but every role it links costs an idle agent memory (about twice
// the RSS; docs/benchmarks.md).
func AgentBinary(log *slog.Logger) string {
	exe, err := os.Executable()
	if err != nil {
		log.Error("install: cannot find the server's own binary to serve to hosts", "err", err)
		return ""
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	lean := filepath.Join(filepath.Dir(exe), AgentName)
	err = checkArch(lean, goruntime.GOARCH)
	if err == nil {
		log.Info("install: /install.sh installs the agent-only build", "binary", lean)
		return lean
	}
	log.Warn("install: /install.sh installs the server's own binary, whose idle agent takes about twice the memory of the agent-only build; "+
		"build both with `make build`, or put "+AgentName+" (go build ./cmd/wharf-agent) beside the server's binary, then restart the server",
		"binary", exe, "reason", err)
	return exe
}

// elfMachines are the ELF machines of the architectures install.sh knows.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "386": elf.EM_386,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390,
}

// checkArch fails unless path is a Linux executable for arch.
func checkArch(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if want, ok := elfMachines[arch]; !ok || f.Machine != want {
		return fmt.Errorf("%s is built for %s, not for this server's linux/%s", path, f.Machine, arch)
	}
	return nil
}
