package preview

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/kronform/kronform-gen/generator/manifest"
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
	// SecretKeysReencrypted lists, the same way, the SOPS-encrypted values whose ciphertext differs. sops encrypts
	// a value anew with a new IV (kronform-gen a whole file with a new data key), so the ciphertext changes whether the
	// value did or not: without the key, nobody can tell which.
	SecretKeysReencrypted []string `json:"secretKeysReencrypted,omitempty"`
	// KeptInCluster, for a removed object, says why Flux leaves it in the cluster rather than deleting it: the
	// Kustomization that applied it has prune: false before the change and after, or it is gone and its finalizer
	// keeps what it applied (prune: false with the default deletionPolicy, or deletionPolicy: Orphan), or the object
	// is labelled or annotated kustomize.toolkit.fluxcd.io/prune: disabled. Empty when Flux deletes it (or may).
	KeptInCluster string `json:"keptInCluster,omitempty"`
	// MovedFrom, for a changed object that another Kustomization of the cluster applied before, names that one when it
	// can delete the object: it prunes what it no longer builds, and nothing orders its reconcile after the one of the
	// Kustomization that applies the object now (a HelmRelease so deleted is uninstalled, and installed again). Empty
	// when the object stays with its Kustomization, or the old one leaves it in the cluster (see KeptInCluster).
	MovedFrom string `json:"movedFrom,omitempty"`
}

// deleteExclusions are the labels and annotations that keep kustomize-controller from deleting an object, whatever
// prune or the deletionPolicy say, with the value each needs (matched without regard to case). (It skips objects
// labelled or annotated reconcile: disabled or ssa: Ignore too, but those it does not apply either: one that holds
// it in the tree may be in the cluster as applied before, without it, and that one it deletes.)
var deleteExclusions = [][2]string{
	{"kustomize.toolkit.fluxcd.io/prune", "disabled"},
}

// deleteExclusion says which of deleteExclusions an object's metadata holds ("it is annotated KEY: VALUE"), or "".
func deleteExclusion(md map[string]any) string {
	for _, e := range deleteExclusions {
		for _, field := range []struct{ name, verb string }{{"labels", "labelled"}, {"annotations", "annotated"}} {
			m, _ := md[field.name].(map[string]any)
			if v, _ := m[e[0]].(string); strings.EqualFold(v, e[1]) {
				return fmt.Sprintf("it is %s %s: %s", field.verb, e[0], v)
			}
		}
	}
	return ""
}

// object is what a diff compares under one key: a built object, masked for display and as built for comparison. A
// name or namespace holding a masked variable prints masked, and objects whose keys differ only there are one entry
// holding them all, in build order: telling them apart would print the values, or show which of them are equal.
type object struct {
	cluster, kind, namespace, name string // as printed
	build                          string // the Kustomization that built it
	excluded                       string // why kustomize-controller deletes none of the objects under the key (deleteExclusion), or ""
	masked, raw                    [][]byte
	values                         map[string][]string // masked scalars by path, as built and as printed (see maskedScalars)
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
	oldByID, newByID := byID(old), byID(new)
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
			c.Change, to = Added, n.joined()
			c.Cluster, c.Kind, c.Namespace, c.Name = n.cluster, n.kind, n.namespace, n.name
		case !inNew:
			c.Change, from = Removed, o.joined()
			c.Cluster, c.Kind, c.Namespace, c.Name = o.cluster, o.kind, o.namespace, o.name
			c.KeptInCluster = keptInCluster(o, oldByID[o.build], newByID[o.build])
		case slices.EqualFunc(o.raw, n.raw, bytes.Equal):
			continue
		default:
			c.Change, from, to = Changed, o.joined(), n.joined()
			c.Cluster, c.Kind, c.Namespace, c.Name = n.cluster, n.kind, n.namespace, n.name
			if o.build != n.build && keptInCluster(o, oldByID[o.build], newByID[o.build]) == "" {
				c.MovedFrom = o.build
			}
			for _, k := range slices.Sorted(maps.Keys(n.values)) {
				ov, ok := o.values[k]
				switch {
				case !ok || !maskedChange(ov, n.values[k]):
				case ciphertextOnly(ov) && ciphertextOnly(n.values[k]):
					c.SecretKeysReencrypted = append(c.SecretKeysReencrypted, k)
				default:
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
		if c.KeptInCluster != "" {
			d += "# Flux leaves it in the cluster: " + c.KeptInCluster + "\n"
		}
		if c.MovedFrom != "" {
			d += fmt.Sprintf("# moves from Kustomization %s to %s: %s can prune it before %s applies it (a HelmRelease "+
				"so pruned is uninstalled): annotate it kustomize.toolkit.fluxcd.io/prune: disabled where %s applies it, "+
				"and make that live first\n", c.MovedFrom, n.build, c.MovedFrom, n.build, c.MovedFrom)
		}
		if len(c.SecretKeysReencrypted) > 0 {
			d += "# values re-encrypted (SOPS; without the key, whether they changed cannot be told): " +
				strings.Join(c.SecretKeysReencrypted, ", ") + "\n"
		}
		c.Diff = d
		out = append(out, c)
	}
	return out, nil
}

// objects indexes the builds' objects by key. An object built by two Kustomizations of one cluster (which Flux would
// fight over) is kept twice, told apart by the Kustomization.
func objects(builds []*Build) (map[string]*object, error) {
	out := map[string]*object{}
	for _, b := range builds {
		for _, r := range b.Resources {
			v, err := objectValue(r)
			if err != nil {
				return nil, err
			}
			raw, err := manifest.ValueToYAML(v)
			if err != nil {
				return nil, err
			}
			values := maskedScalars(v)
			kind, _ := v["kind"].(string)
			md, _ := v["metadata"].(map[string]any)
			namespace, _ := md["namespace"].(string)
			name, _ := md["name"].(string)
			excluded := deleteExclusion(md)
			maskObject(v)
			maskValuePlaceholders(v)
			masked, err := manifest.ValueToYAML(v)
			if err != nil {
				return nil, err
			}
			kind, namespace, name = maskPlaceholders(kind), maskPlaceholders(namespace), maskPlaceholders(name)
			key := ObjectKey(b.Cluster, kind, namespace, name)
			if o, dup := out[key]; dup && o.build != b.ID() {
				key += " (" + b.ID() + ")"
			}
			o := out[key]
			if o == nil {
				o = &object{cluster: b.Cluster, kind: kind, namespace: namespace, name: name, build: b.ID(), values: map[string][]string{}, excluded: excluded}
				out[key] = o
			}
			if excluded == "" {
				o.excluded = ""
			}
			o.masked, o.raw = append(o.masked, masked), append(o.raw, raw)
			for p, pair := range values {
				o.values[p] = append(o.values[p], pair...)
			}
		}
	}
	return out, nil
}

// keptInCluster says why kustomize-controller would leave an object that is gone from the tree in the cluster, or ""
// when it deletes it. It deletes what a Kustomization applied before and no longer builds only with prune: true.
// When the Kustomization itself is gone, its finalizer deletes what it applied by the deletionPolicy it had:
// MirrorPrune (the default) deletes with prune: true alone, Delete and WaitForTermination whatever prune says, Orphan
// never. When prune changes in the same change, which spec the controller uses first depends on the order in which
// it reconciles the Kustomization and the one that applies it, so the object counts as deleted. before and after
// are that Kustomization's builds on the two sides (nil where it is not).
func keptInCluster(o *object, before, after *Build) string {
	if o.excluded != "" {
		return o.excluded
	}
	if before == nil {
		return ""
	}
	if after == nil {
		switch before.Spec.DeletionPolicy {
		case "", kustomizev1.DeletionPolicyMirrorPrune:
			if !before.Spec.Prune {
				return fmt.Sprintf("Kustomization %s had prune: false, and is gone", o.build)
			}
		case kustomizev1.DeletionPolicyOrphan:
			return fmt.Sprintf("Kustomization %s had deletionPolicy: %s, and is gone", o.build, kustomizev1.DeletionPolicyOrphan)
		}
		return ""
	}
	if !before.Spec.Prune && !after.Spec.Prune {
		return fmt.Sprintf("Kustomization %s has prune: false", o.build)
	}
	return ""
}

// byID indexes builds by their Kustomization's ID.
func byID(builds []*Build) map[string]*Build {
	out := make(map[string]*Build, len(builds))
	for _, b := range builds {
		out[b.ID()] = b
	}
	return out
}

// joined is the masked YAML of the objects under one key, one document each.
func (o *object) joined() []byte { return bytes.Join(o.masked, []byte("---\n")) }

// maskedChange says whether the masked scalars at one path (as built and as printed, in pairs; several when objects
// share a key) changed while printing the same. They are compared as sets: which object holds which value must not
// matter, since the order of objects sharing a key is not theirs to tell.
func maskedChange(old, new []string) bool {
	split := func(pairs []string) (built, printed []string) {
		for i := 0; i+1 < len(pairs); i += 2 {
			built, printed = append(built, pairs[i]), append(printed, pairs[i+1])
		}
		slices.Sort(built)
		slices.Sort(printed)
		return built, printed
	}
	ob, op := split(old)
	nb, np := split(new)
	return !slices.Equal(ob, nb) && slices.Equal(op, np)
}

// ciphertextOnly says whether the masked scalars at one path (as built and as printed, in pairs) all print as SOPS
// ciphertext: their change says they were encrypted anew, not that their values changed.
func ciphertextOnly(pairs []string) bool {
	for i := 1; i < len(pairs); i += 2 {
		if pairs[i] != maskSOPS {
			return false
		}
	}
	return true
}

// ObjectKey names an object across a fleet: cluster/Kind/namespace/name, or cluster/Kind/name when cluster-scoped.
func ObjectKey(cluster, kind, namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("%s/%s/%s", cluster, kind, name)
	}
	return fmt.Sprintf("%s/%s/%s/%s", cluster, kind, namespace, name)
}

// Kept counts the removed objects Flux leaves in the cluster (see ObjectChange.KeptInCluster).
func Kept(changes []ObjectChange) int {
	n := 0
	for _, c := range changes {
		if c.KeptInCluster != "" {
			n++
		}
	}
	return n
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
// to text that ends in a newline). A last line without one is followed, as git writes it, by "\ No newline at end of
// file": it differs from the same line with its newline, so a file that lost (or gained) its last newline and nothing
// else shows that change rather than no diff at all.
func SplitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n" + noNewlineAtEnd
	}
	return lines
}

// noNewlineAtEnd is git's line after a last line that has no newline.
const noNewlineAtEnd = "\\ No newline at end of file\n"
