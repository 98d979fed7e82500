package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// Flux applies a cluster's change in two steps: the cilium Kustomization (the HelmRelease; its health check waits for
// the upgrade), then host-policies, which dependsOn it. In between, the agents can run the new Cilium settings while
// the host policies applied are still the old ones. A transition is what one run changes in each step, against the
// tree Flux applies now (baseline).

// transition is one cluster's change between the baseline and the tree this run renders.
type transition struct {
	cluster    int       // index in the model
	hadRelease bool      // the baseline has the cluster's HelmRelease
	releaseErr error     // why the baseline's HelmRelease could not be read
	chart      [2]string // the chart version before and after
	values     []string  // the dotted keys of the values that change, sorted
	rollOut    bool      // the new values set rollOutCiliumPods: the chart restarts the agents itself
	policies   []string  // the host policies that change: "NAME added|removed|changed", sorted
	// applied are the baseline's host policies, what Cilium enforces until host-policies reconciles; appliedErr says
	// why they could not be read.
	applied    []cilium.ClusterwideNetworkPolicy
	appliedErr error
}

// ciliumChanges says whether the first step changes what the agents run: the chart or its values.
func (t transition) ciliumChanges() bool { return t.chart[0] != t.chart[1] || len(t.values) > 0 }

// describeCilium names the first step's change: "chart 1.15.6 -> 1.16.0, values policyAuditMode".
func (t transition) describeCilium() string {
	var parts []string
	switch {
	case t.releaseErr != nil:
		return fmt.Sprintf("the HelmRelease applied now cannot be read (%v)", t.releaseErr)
	case !t.hadRelease:
		return "the HelmRelease is new"
	}
	if t.chart[0] != t.chart[1] {
		parts = append(parts, fmt.Sprintf("chart %s -> %s", t.chart[0], t.chart[1]))
	}
	if len(t.values) > 0 {
		parts = append(parts, "values "+strings.Join(t.values, ", "))
	}
	return strings.Join(parts, "; ")
}

// baseline reads the tree Flux applies now, as far as kronform-gen can know it: the output folder as HEAD holds it
// when the folder is in a git repository (Flux applies what was committed; a tree written and not committed is not
// applied, and two runs before one commit reach Flux as one change), else (no repository, or one go-git cannot open)
// the folder on disk. It must be read before this run writes. label names it in messages: "at HEAD", "in output".
func (a *app) baseline() (read func(string) ([]byte, error), label string, err error) {
	repo, err := gitrepo.Open(a.outDir)
	if err != nil {
		disk := tree.Files(a.outDir)
		return func(p string) ([]byte, error) { return fs.ReadFile(disk, p) }, "in " + a.outDir, nil
	}
	head, err := repo.HeadSnapshot()
	if err != nil {
		return nil, "", fail(ExitUsage, "reading %s at HEAD: %v", a.outDir, err)
	}
	return head.ReadFile, "at HEAD", nil
}

// transitions compares each cluster's Cilium release and host policies in the new tree with the baseline's. Clusters
// whose HelmRelease is byte for byte the baseline's are left out: their first step changes nothing.
func (a *app) transitions(m *spec.Model, t *tree.Tree, read func(string) ([]byte, error)) ([]transition, error) {
	readNew := func(p string) ([]byte, error) {
		if b, ok := t.File(p); ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	var out []transition
	for i, c := range m.Clusters {
		releasePath := path.Join(flux.ComponentDir(c, flux.CiliumName), "helmrelease.yaml")
		newRelease, err := readNew(releasePath)
		if err != nil {
			return nil, fail(ExitFailure, "%s: %v", releasePath, err)
		}
		oldRelease, oldErr := read(releasePath)
		if oldErr == nil && bytes.Equal(oldRelease, newRelease) {
			continue
		}
		tr := transition{cluster: i}
		newChart, newValues, err := releaseOf(newRelease)
		if err != nil {
			return nil, fail(ExitFailure, "%s: %v", releasePath, err)
		}
		tr.chart[1] = newChart
		tr.rollOut = newValues["rollOutCiliumPods"] == true
		switch {
		case errors.Is(oldErr, fs.ErrNotExist):
			tr.values = changedKeys(nil, newValues, "")
		case oldErr != nil:
			return nil, fail(ExitUsage, "reading %s: %v", releasePath, oldErr)
		default:
			oldChart, oldValues, err := releaseOf(oldRelease)
			if err != nil {
				// Not a release kronform-gen wrote: what the agents run now is unknown, so everything changes.
				tr.releaseErr = err
				oldChart, oldValues = "", nil
			}
			tr.hadRelease = err == nil
			tr.chart[0], tr.values = oldChart, changedKeys(oldValues, newValues, "")
		}
		if !tr.ciliumChanges() {
			continue
		}
		dir := flux.ComponentDir(c, flux.HostPoliciesName)
		newPolicies, err := policiesIn(readNew, dir)
		if err != nil {
			return nil, fail(ExitFailure, "the policies this run writes: %v", err)
		}
		tr.applied, tr.appliedErr = policiesIn(read, dir)
		tr.policies = changedPolicies(tr.applied, newPolicies)
		if tr.appliedErr != nil {
			// What changes is unknown: name what comes.
			tr.policies = []string{"no policies"}
			if len(newPolicies) > 0 {
				tr.policies = nil
				for _, p := range newPolicies {
					tr.policies = append(tr.policies, p.Name)
				}
			}
		}
		out = append(out, tr)
	}
	return out, nil
}

// releaseOf reads the chart version and the values of a HelmRelease file.
func releaseOf(data []byte) (chart string, values map[string]any, err error) {
	var hr struct {
		Kind string `json:"kind"`
		Spec struct {
			Chart struct {
				Spec struct {
					Version string `json:"version"`
				} `json:"spec"`
			} `json:"chart"`
			Values map[string]any `json:"values"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &hr); err != nil {
		return "", nil, err
	}
	if hr.Kind != "HelmRelease" {
		return "", nil, fmt.Errorf("not a HelmRelease")
	}
	return hr.Spec.Chart.Spec.Version, hr.Spec.Values, nil
}

// changedKeys lists the dotted keys whose values differ between two value trees, down to the first key that is not a
// mapping on both sides, sorted.
func changedKeys(old, new map[string]any, prefix string) []string {
	var out []string
	for k := range old {
		if _, ok := new[k]; !ok {
			out = append(out, prefix+k)
		}
	}
	for k, nv := range new {
		ov, ok := old[k]
		om, oIsMap := ov.(map[string]any)
		nm, nIsMap := nv.(map[string]any)
		switch {
		case ok && oIsMap && nIsMap:
			out = append(out, changedKeys(om, nm, prefix+k+".")...)
		case !ok || !reflect.DeepEqual(ov, nv):
			out = append(out, prefix+k)
		}
	}
	slices.Sort(out)
	return out
}

// policiesIn reads the CiliumClusterwideNetworkPolicies a host-policies folder applies: the files its
// kustomization.yaml lists, as kronform-gen writes it. No folder is no policies. Anything else there (a patch, a
// file it does not list as a plain name, an object that is not a policy kronform-gen could have written) is an error:
// the policies it applies are then unknown.
func policiesIn(read func(string) ([]byte, error), dir string) ([]cilium.ClusterwideNetworkPolicy, error) {
	kpath := path.Join(dir, "kustomization.yaml")
	data, err := read(kpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", kpath, err)
	}
	var resources []string
	for key, v := range k {
		switch key {
		case "apiVersion", "kind":
		case "resources":
			list, ok := v.([]any)
			for _, r := range list {
				s, isString := r.(string)
				ok = ok && isString
				resources = append(resources, s)
			}
			if !ok {
				return nil, fmt.Errorf("%s: resources is not a list of file names", kpath)
			}
		default:
			return nil, fmt.Errorf("%s: %s: kronform-gen writes only a list of resources", kpath, key)
		}
	}
	var out []cilium.ClusterwideNetworkPolicy
	for _, r := range resources {
		if r == "" || strings.Contains(r, "/") || r == "." || r == ".." {
			return nil, fmt.Errorf("%s: resource %q is not a file of the folder", kpath, r)
		}
		p := path.Join(dir, r)
		data, err := read(p)
		if err != nil {
			return nil, err
		}
		docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := docs.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			var probe map[string]any
			if err := yaml.Unmarshal(doc, &probe); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if len(probe) == 0 {
				continue
			}
			var pol cilium.ClusterwideNetworkPolicy
			if err := yaml.UnmarshalStrict(doc, &pol); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if pol.APIVersion != "cilium.io/v2" || pol.Kind != "CiliumClusterwideNetworkPolicy" {
				return nil, fmt.Errorf("%s: %s %s is not a cilium.io/v2 CiliumClusterwideNetworkPolicy", p, pol.APIVersion, pol.Kind)
			}
			out = append(out, pol)
		}
	}
	return out, nil
}

// changedPolicies names the policies added, removed or changed between two sets, by name, sorted.
func changedPolicies(old, new []cilium.ClusterwideNetworkPolicy) []string {
	canon := func(ps []cilium.ClusterwideNetworkPolicy) map[string]string {
		m := map[string]string{}
		for _, p := range ps {
			b, _ := json.Marshal(p)
			m[p.Name] = string(b)
		}
		return m
	}
	o, n := canon(old), canon(new)
	var out []string
	for name, b := range n {
		switch ob, ok := o[name]; {
		case !ok:
			out = append(out, name+" added")
		case ob != b:
			out = append(out, name+" changed")
		}
	}
	for name := range o {
		if _, ok := n[name]; !ok {
			out = append(out, name+" removed")
		}
	}
	slices.Sort(out)
	return out
}

// transitionGuard refuses a change whose state between Flux's two steps could lock the admin, the nodes or Flux out:
// new Cilium settings (chart or values) and new host policies in one change, for a cluster that enforces, where the
// baseline's policies under the new settings fail a check that expects a flow allowed (the built-in ones, and the
// spec's). Loosening is never refused: with audit mode on after the change nothing is enforced in between. What is
// only exposed in between was exposed before the change too, since new settings open nothing old policies closed.
func (a *app) transitionGuard(m *spec.Model, steps []transition, label string) error {
	var refused []string
	failed := 0
	for _, t := range steps {
		c := m.Clusters[t.cluster]
		if c.Cilium.AuditMode || !t.ciliumChanges() || len(t.policies) == 0 {
			continue
		}
		intro := fmt.Sprintf("cluster %s: Flux applies this change in two steps: 1. cilium: %s; 2. host-policies, which waits for it: %s.",
			c.Name, t.describeCilium(), strings.Join(t.policies, ", "))
		if t.appliedErr != nil {
			fmt.Fprintf(a.stderr, "%s In between, Cilium runs the new settings with the host policies %s, which cannot be read: %v\n", intro, label, t.appliedErr)
			refused = append(refused, c.Name)
			continue
		}
		applied := t.applied
		if !spec.CiliumPortRanges(c.Cilium.Version) {
			applied = make([]cilium.ClusterwideNetworkPolicy, len(t.applied))
			for i, p := range t.applied {
				applied[i] = cilium.WithoutPortRanges(p)
			}
		}
		var lockout []firewall.Check
		for _, ch := range firewall.VerifyWith(m, t.cluster, applied) {
			if !ch.OK && ch.Assertion.Expect == spec.Allowed {
				lockout = append(lockout, ch)
			}
		}
		if len(lockout) == 0 {
			continue
		}
		fmt.Fprintf(a.stderr, "%s In between, Cilium runs the new settings with the host policies %s, and %d check(s) fail:\n", intro, label, len(lockout))
		printFailures(a.stderr, m, lockout, nil)
		refused = append(refused, c.Name)
		failed += len(lockout)
	}
	if len(refused) == 0 {
		return nil
	}
	what := fmt.Sprintf("%d check(s) fail between Flux's two steps, which could lock you out (Flux too: then nothing more is applied)", failed)
	if failed == 0 {
		what = "the state between Flux's two steps cannot be verified"
	}
	return fail(ExitFailure, "refusing to write %s: cluster %s: %s. Split the change: first the host policies alone, with the Cilium settings %s; "+
		"commit, push and let Flux apply it; then the Cilium change", a.outDir, strings.Join(refused, ", "), what, label)
}

// printRestartNotes says when the agents must be restarted for a change to take effect: they read cilium-config only
// when they start, and the chart restarts them on a change of it only with rollOutCiliumPods (a new chart version
// restarts them anyway, with a new image). policyAuditMode, either way, is such a change.
func (a *app) printRestartNotes(m *spec.Model, steps []transition) {
	for _, t := range steps {
		if !t.hadRelease || len(t.values) == 0 || t.chart[0] != t.chart[1] || t.rollOut {
			continue
		}
		c := m.Clusters[t.cluster]
		until := ""
		if slices.Contains(t.values, "policyAuditMode") {
			until = fmt.Sprintf(" (until then audit mode stays %s)", map[bool]string{true: "off", false: "on"}[c.Cilium.AuditMode])
		}
		fmt.Fprintf(a.stderr, "note: cluster %s: Cilium's values change (%s): the agents read cilium-config only when they start, and the chart "+
			"restarts them only with rollOutCiliumPods: true; once Flux has applied this, restart them%s: kubectl -n %s rollout restart daemonset/cilium\n",
			c.Name, strings.Join(t.values, ", "), until, c.Cilium.Namespace)
	}
}
