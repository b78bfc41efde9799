package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

func TestValidateHello(t *testing.T) {
	good := api.AgentHello{Hostname: "n1", Addresses: []string{"10.0.0.1", "fd00::2", "fe80::1%eth0"}, OS: "linux",
		Kernel: "6.1.0-13-amd64", Arch: "amd64", CPUs: 2, MemoryBytes: 1 << 30, AgentVersion: "dev", Drivers: []string{"docker", "exec"},
		Features: []string{api.FeatureDeltaAssignments, "a-feature-of-a-newer-agent"}}
	if err := validateHello(good); err != nil {
		t.Fatalf("a real hello refused: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*api.AgentHello)
		field string
	}{
		{"bad hostname", func(h *api.AgentHello) { h.Hostname = "a b" }, "hostname"},
		{"not an address", func(h *api.AgentHello) { h.Addresses = []string{"<script>"} }, "addresses"},
		{"too many addresses", func(h *api.AgentHello) { h.Addresses = make([]string, maxHelloAddresses+1) }, "addresses"},
		{"long kernel", func(h *api.AgentHello) { h.Kernel = strings.Repeat("k", maxHelloText+1) }, "kernel"},
		{"control characters", func(h *api.AgentHello) { h.OS = "linux\x1b[2J" }, "os"},
		{"negative memory", func(h *api.AgentHello) { h.MemoryBytes = -1 }, "cpus"},
		{"unknown driver", func(h *api.AgentHello) { h.Drivers = []string{"qemu"} }, "drivers"},
		{"too many features", func(h *api.AgentHello) { h.Features = make([]string, maxHelloFeatures+1) }, "features"},
		{"long feature", func(h *api.AgentHello) { h.Features = []string{strings.Repeat("f", maxHelloText+1)} }, "features"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good
			h.Addresses = append([]string(nil), good.Addresses...)
			tt.edit(&h)
			err := validateHello(h)
			var fe *errdefs.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("validateHello = %v, want an error on field %q", err, tt.field)
			}
		})
	}
}
