package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/moby/moby/client"

	"github.com/wharfhq/wharf/internal/runtime"
)

// LabelPrefix starts every label the driver puts on its containers and
// volumes. It is Wharf's own: a user label may not use it (the API server
// refuses one, and Start does too), so no user label can hide a container
// from adoption or pass it off as another slot's.
const LabelPrefix = "wharf."

// Labels on every container the driver makes.
const (
	labelManaged = "wharf.managed" // always "true"
	labelID      = "wharf.id"      // Spec.ID
	labelNode    = "wharf.node"    // the node set with SetNode
	labelService = "wharf.service"
	labelSlot    = "wharf.slot"
	labelName    = "wharf.name"
	labelSpec    = "wharf.spec" // specHash of the Spec it runs
)

// labels returns the labels of a container running spec on node: the
// user's spec.Labels and Wharf's own. A user label under LabelPrefix is
// refused.
func labels(spec runtime.Spec, node string) (map[string]string, error) {
	l := make(map[string]string, len(spec.Labels)+7)
	for k, v := range spec.Labels {
		if strings.HasPrefix(k, LabelPrefix) {
			return nil, fmt.Errorf("docker driver: start %s: label %q: the prefix %q is Wharf's own; rename the label", spec.ID, k, LabelPrefix)
		}
		l[k] = v
	}
	maps.Copy(l, map[string]string{
		labelManaged: "true",
		labelID:      spec.ID,
		labelNode:    node,
		labelService: spec.Service,
		labelSlot:    strconv.Itoa(spec.Slot),
		labelName:    spec.Name,
		labelSpec:    specHash(spec),
	})
	return l, nil
}

// filters selects the containers of node, and of id too when id is set.
func filters(node, id string) client.Filters {
	f := make(client.Filters).
		Add("label", labelManaged+"=true").
		Add("label", labelNode+"="+node)
	if id != "" {
		f.Add("label", labelID+"="+id)
	}
	return f
}

// managedBy reports whether labels l say node's driver made the container:
// the check behind every action, on top of the filters.
func managedBy(l map[string]string, node string) bool {
	return l[labelManaged] == "true" && l[labelNode] == node && l[labelID] != ""
}

// containerName is the Docker name of spec's container, unique per engine
// as Wharf container IDs are.
func containerName(spec runtime.Spec) string {
	id := spec.ID
	if len(id) > 8 {
		id = id[:8]
	}
	return "wharf-" + spec.Name + "-" + id
}

// specHash identifies what spec runs, so that Start can tell a new run of
// the same spec (the exited container is started again, keeping its logs)
// from a changed one (the container is replaced).
func specHash(spec runtime.Spec) string {
	b, _ := json.Marshal(spec) // a Spec always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
