package domain

import (
	"errors"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// TestValidateTTY: a terminal and an open input are the docker driver's
// alone; the exec driver's spec with either is refused naming the field.
func TestValidateTTY(t *testing.T) {
	ok := api.ServiceSpec{Image: "busybox", Replicas: 1, TTY: true, Interactive: true}
	if err := validateSpec(&ok); err != nil {
		t.Fatalf("docker driver with tty and interactive refused: %v", err)
	}
	for field, edit := range map[string]func(*api.ServiceSpec){
		"spec.tty":         func(s *api.ServiceSpec) { s.TTY = true },
		"spec.interactive": func(s *api.ServiceSpec) { s.Interactive = true },
	} {
		spec := api.ServiceSpec{Command: []string{"sleep", "1"}, Replicas: 1}
		edit(&spec)
		err := validateSpec(&spec)
		var fe *errdefs.FieldError
		if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Message, "only the docker driver") {
			t.Errorf("exec driver with %s: error %v, want one naming the field and the docker driver", field, err)
		}
	}
}
