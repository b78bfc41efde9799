package domain

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/api"
	"github.com/wharfhq/wharf/internal/errdefs"
)

// reservedLabelPrefix starts the labels the docker driver puts on its
// containers (wharf.managed, wharf.node, wharf.service, wharf.slot...),
// which adoption relies on: a user label may not use it. It is the docker
// driver's LabelPrefix, repeated here so that the server does not link the
// Docker client (a test checks they agree).
const reservedLabelPrefix = "wharf."

// volumeSourceRE is a named volume's source: Docker's rule for volume
// names, which the per-slot name "<service>-<slot>-<source>" keeps.
var volumeSourceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// maxVolumeSourceLen bounds a named volume's source. Docker's local volume
// driver keeps a volume in a directory named after it, so a volume name is
// one path component: at most 255 bytes (NAME_MAX). The controller names
// it "<service>-<slot>-<source>", with a service name of up to 63 bytes and
// a slot of up to 10 digits: 255-63-1-10-1 leaves 180 for the source.
const maxVolumeSourceLen = 180

// validateVolumesAndLabels checks spec.volumes, spec.labels and
// spec.networks.
func validateVolumesAndLabels(spec *api.ServiceSpec) error {
	if len(spec.Volumes) > 0 && spec.DriverName() == "exec" {
		return errdefs.Invalid("spec.volumes", "the exec driver cannot mount volumes; use an image (docker driver) or remove volumes")
	}
	targets := make(map[string]int, len(spec.Volumes))
	for i, v := range spec.Volumes {
		field := "spec.volumes[" + strconv.Itoa(i) + "]"
		if err := validateVolume(field, v); err != nil {
			return err
		}
		if j, dup := targets[v.Target]; dup {
			return errdefs.Invalid(field+".target", "%s is already the target of spec.volumes[%d]: mount one volume per path", v.Target, j)
		}
		targets[v.Target] = i
	}
	for k := range spec.Labels {
		if k == "" {
			return errdefs.Invalid("spec.labels", "label keys must not be empty")
		}
		if strings.HasPrefix(k, reservedLabelPrefix) {
			return errdefs.Invalid("spec.labels."+k, "the prefix %q is reserved for Wharf's own labels; rename the label", reservedLabelPrefix)
		}
	}
	seen := make(map[string]bool, len(spec.Networks))
	for i, n := range spec.Networks {
		field := "spec.networks[" + strconv.Itoa(i) + "]"
		if !serviceNameRE.MatchString(n) {
			return errdefs.Invalid(field, "network name %q must match %s (lower case letters, digits and '-')", n, serviceNameRE)
		}
		if seen[n] {
			return errdefs.Invalid(field, "network %q is listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// validateVolume checks one volume mount; field is "spec.volumes[i]".
func validateVolume(field string, v api.VolumeMount) error {
	switch {
	case v.Target == "":
		return errdefs.Invalid(field+".target", "set the absolute path in the container to mount on")
	case !printable(v.Target) || !path.IsAbs(v.Target) || path.Clean(v.Target) != v.Target:
		return errdefs.Invalid(field+".target", "%q must be an absolute, clean path in the container, such as /data", v.Target)
	case v.Target == "/":
		return errdefs.Invalid(field+".target", "cannot mount over the container's root; pick a directory such as /data")
	}
	switch v.Type {
	case api.VolumeNamed:
		switch {
		case v.Source == "":
			return errdefs.Invalid(field+".source", "a named volume needs a name, such as \"data\"")
		case !volumeSourceRE.MatchString(v.Source):
			return errdefs.Invalid(field+".source", "volume name %q must match %s", v.Source, volumeSourceRE)
		case len(v.Source) > maxVolumeSourceLen:
			return errdefs.Invalid(field+".source", "volume name is %d characters, at most %d: each slot's volume is named \"<service>-<slot>-<name>\" and Docker allows 255",
				len(v.Source), maxVolumeSourceLen)
		}
	case api.VolumeBind:
		if !printable(v.Source) || !path.IsAbs(v.Source) {
			return errdefs.Invalid(field+".source", "a bind mount's source must be an absolute path on the node, got %q", v.Source)
		}
	default:
		return errdefs.Invalid(field+".type", "unknown volume type %q: want %q (a named volume, kept per slot on the node) or %q (a path of the node)",
			v.Type, api.VolumeNamed, api.VolumeBind)
	}
	return nil
}
