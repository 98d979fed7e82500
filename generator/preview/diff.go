package preview

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// ChangeKind says how an object differs between two builds.
type ChangeKind string

// Kinds of change, in the order a diff lists them within one object key.
const (
	Added   ChangeKind = "added"
	Changed ChangeKind = "changed"
	Removed ChangeKind = "removed"
)

// ObjectChange is one object that differs between two builds. Its YAML is masked: Secret values never show.
type ObjectChange struct {
	// Key is cluster/Kind/namespace/name (cluster/Kind/name for a cluster-scoped object).
	Key       string     `json:"key"`
	Cluster   string     `json:"cluster"`
	Kind      string     `json:"kind"`
	Namespace string     `json:"namespace,omitempty"`
	Name      string     `json:"name"`
	Change    ChangeKind `json:"change"`
	// Diff is a unified diff of the object's YAML, old to new (all lines added or removed for a new or gone object).
	Diff string `json:"diff"`
	// SecretKeysChanged lists the masked values (a Secret's data.KEY or stringData.KEY, or the path of a field holding
	// a Secret-sourced variable, such as data.token of a ConfigMap) that differ although they print the same.
	SecretKeysChanged []string `json:"secretKeysChanged,omitempty"`
}

// object is one built object, masked for display and as built for comparison.
type object struct {
	cluster, kind, namespace, name string
	masked, raw                    []byte
	values                         map[string][2]string // masked scalars by path: as built, as printed
}

// Diff compares two sets of builds object by object (objects keyed by cluster, kind, namespace and name) and
// returns the changes sorted by key. oldName and newName label the two sides in the unified diffs.
func Diff(old, new []*Build, oldName, newName string) ([]ObjectChange, error) {
	a, err := objects(old)
	if err != nil {
		return nil, err
	}
	b, err := objects(new)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []ObjectChange
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		o, inOld := a[key]
		n, inNew := b[key]
		c := ObjectChange{Key: key}
		var from, to []byte
		switch {
		case !inOld:
			c.Change, to = Added, n.masked
			c.Cluster, c.Kind, c.Namespace, c.Name = n.cluster, n.kind, n.namespace, n.name
		case !inNew:
			c.Change, from = Removed, o.masked
			c.Cluster, c.Kind, c.Namespace, c.Name = o.cluster, o.kind, o.namespace, o.name
		case bytes.Equal(o.raw, n.raw):
			continue
		default:
			c.Change, from, to = Changed, o.masked, n.masked
			c.Cluster, c.Kind, c.Namespace, c.Name = n.cluster, n.kind, n.namespace, n.name
			for _, k := range slices.Sorted(maps.Keys(n.values)) {
				if ov, ok := o.values[k]; ok && ov[0] != n.values[k][0] && ov[1] == n.values[k][1] {
					c.SecretKeysChanged = append(c.SecretKeysChanged, k)
				}
			}
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: SplitLines(from), B: SplitLines(to),
			FromFile: oldName, ToFile: newName, Context: 3,
		})
		if err != nil {
			return nil, err
		}
		if len(c.SecretKeysChanged) > 0 {
			d += "# values changed (masked): " + strings.Join(c.SecretKeysChanged, ", ") + "\n"
		}
		c.Diff = d
		out = append(out, c)
	}
	return out, nil
}

// objects indexes the builds' objects by key. An object built by two Kustomizations of one cluster (which Flux would
// fight over) is kept twice, told apart by the Kustomization.
func objects(builds []*Build) (map[string]object, error) {
	out := map[string]object{}
	for _, b := range builds {
		for _, r := range b.Resources {
			raw, err := r.AsYAML()
			if err != nil {
				return nil, err
			}
			m := r.DeepCopy()
			maskResource(m)
			maskNodePlaceholders(m.RNode.YNode())
			masked, err := m.AsYAML()
			if err != nil {
				return nil, err
			}
			o := object{cluster: b.Cluster, kind: r.GetKind(), namespace: r.GetNamespace(), name: r.GetName(), masked: masked, raw: raw}
			o.values = maskedScalars(o.kind, r.RNode.YNode())
			key := ObjectKey(o.cluster, o.kind, o.namespace, o.name)
			if _, dup := out[key]; dup {
				key += " (" + b.ID() + ")"
			}
			out[key] = o
		}
	}
	return out, nil
}

// ObjectKey names an object across a fleet: cluster/Kind/namespace/name, or cluster/Kind/name when cluster-scoped.
func ObjectKey(cluster, kind, namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("%s/%s/%s", cluster, kind, name)
	}
	return fmt.Sprintf("%s/%s/%s/%s", cluster, kind, namespace, name)
}

// Summary counts changes by kind.
func Summary(changes []ObjectChange) (added, changed, removed int) {
	for _, c := range changes {
		switch c.Change {
		case Added:
			added++
		case Changed:
			changed++
		case Removed:
			removed++
		}
	}
	return
}

// SplitLines cuts text into lines that keep their newline, for difflib (whose own SplitLines adds an empty last line
// to text that ends in a newline); a last line without one gets one.
func SplitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}
