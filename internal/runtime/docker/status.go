package docker

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/runtime"
)

// status is the driver's view of an inspected container.
func status(in container.InspectResponse) runtime.Status {
	st := runtime.Status{DriverID: in.ID, State: runtime.StateExited}
	if in.Config != nil {
		st.ID = in.Config.Labels[labelID]
	}
	s := in.State
	if s == nil {
		st.ExitCode = -1
		st.Error = "the engine reports no state"
		return st
	}
	st.StartedAt = parseTime(s.StartedAt)
	if s.Running {
		// Paused and restarting containers are running too, as far as the
		// agent is concerned: their process exists.
		st.State = runtime.StateRunning
		st.PID = s.Pid
		st.Ports = ports(in)
		st.HostPort = hostPort(in, st.Ports)
		return st
	}
	st.ExitCode = s.ExitCode
	st.FinishedAt = parseTime(s.FinishedAt)
	switch {
	case s.OOMKilled:
		st.Error = "killed: out of memory"
	case s.Error != "":
		st.Error = s.Error
	case s.Status == container.StateCreated:
		st.ExitCode = -1
		st.Error = "created but never started"
	}
	return st
}

// ports returns every binding the engine made for a running container
// (with its host address; none in network mode host, where the
// container's ports are the node's), sorted by container port, protocol,
// host port and address.
func ports(in container.InspectResponse) []api.PortBinding {
	if in.NetworkSettings == nil {
		return nil
	}
	var out []api.PortBinding
	for p, bs := range in.NetworkSettings.Ports {
		for _, b := range bs {
			hp, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			pb := api.PortBinding{ContainerPort: int(p.Num()), HostPort: hp, Protocol: string(p.Proto())}
			if b.HostIP.IsValid() {
				pb.HostIP = b.HostIP.String()
			}
			out = append(out, pb)
		}
	}
	slices.SortFunc(out, func(a, b api.PortBinding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort),
			cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.HostIP, b.HostIP))
	})
	return out
}

// hostPort is the host port of the first published port of the spec: the
// one the driver handed to the workload as PORT (TCP preferred), else the
// first binding.
func hostPort(in container.InspectResponse, bs []api.PortBinding) int {
	if len(bs) == 0 {
		return 0
	}
	if in.Config != nil {
		for _, kv := range in.Config.Env {
			if v, ok := strings.CutPrefix(kv, "PORT="); ok {
				port, _ := strconv.Atoi(v)
				i := slices.IndexFunc(bs, func(b api.PortBinding) bool { return b.ContainerPort == port && b.Protocol == "tcp" })
				if i < 0 {
					i = slices.IndexFunc(bs, func(b api.PortBinding) bool { return b.ContainerPort == port })
				}
				if i >= 0 {
					return bs[i].HostPort
				}
			}
		}
	}
	return bs[0].HostPort
}

// parseTime parses the engine's timestamps; "" and "0001-01-01T00:00:00Z"
// (never) are the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return time.Time{}
	}
	return t
}
