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

	"github.com/Masterminds/semver/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// Flux applies a cluster's change in two steps: the cilium Kustomization (the HelmRelease; its health check waits for
// the upgrade), then host-policies, which dependsOn it. The agents read cilium-config only when they start: a new
// chart version restarts them in step 1 (a new image), and so does the chart when the values set rollOutCiliumPods;
// otherwise they take new values at their next restart (by hand, a crash, a node reboot), which may come before or
// after step 2. So from the settings and policies Flux applies now (the baseline) to the new ones, the enforced
// firewall can pass through the new settings with the old policies, and, while the agents lag, the old settings with
// the new policies. A transition is what one run changes in each step.

// transition is one cluster's change between the baseline and the tree this run renders.
type transition struct {
	cluster int
	base    *baseline
	// newRelease says the baseline's cluster folder applies no HelmRelease; releaseErr why the one it applies cannot be
	// read. Otherwise old is that release.
	newRelease bool
	releaseErr error
	old        release
	// takeover, when set, is a HelmRelease of the user's that Flux applies now under the name of kronform-gen's new
	// one: old is read from it (see userReleases). unread, when kronform-gen's release is new, says why what Flux
	// applies under its name cannot be read (a release of the user's found unreadable, or a build that may hold one):
	// releaseErr then says so too, as for a release of kronform-gen's that cannot be read, for the agents may run any
	// settings, not a first install's. mayApply says that whether Flux applies one at all is what cannot be read.
	takeover  *takeover
	unread    string
	mayApply  bool
	reinstall *takeover // a release of the user's whose Helm release target is not kronform-gen's (see releaseTarget)
	chart     [2]string // the chart version before and after
	namespace [2]string // the HelmRelease's namespace before and after
	values    []string  // the dotted keys of the values that change, sorted
	// agentValues are those of values that the agents read (cilium.ReachesAgents): the others change no agent.
	agentValues []string
	// restarts says why the chart restarts the agents in step 1; "" when it does not.
	restarts string
	policies []string // the host policies that change: "NAME added|removed|changed", sorted
	// applied are the baseline's host policies, what Cilium enforces until host-policies reconciles; appliedErr says
	// why they could not be read. written are this run's.
	applied    []cilium.ClusterwideNetworkPolicy
	appliedErr error
	written    []cilium.ClusterwideNetworkPolicy
	// unreadable, when the Flux Kustomizations in the cluster's folder cannot be read at the baseline (releaseErr and
	// appliedErr then say so), names the files that cannot: no change passes until they are repaired by hand.
	unreadable *unreadableKustomizations
}

// settingsChange says whether step 1 can change what the agents run: the chart, or values they read.
func (t transition) settingsChange() bool {
	return t.newRelease || t.releaseErr != nil || t.chart[0] != t.chart[1] || len(t.agentValues) > 0
}

// agentsLag says whether the agents can still run the baseline's settings after step 2: they take new values only
// when they restart, and the chart does not restart them.
func (t transition) agentsLag() bool {
	return !t.newRelease && t.restarts == "" && (t.releaseErr != nil || len(t.agentValues) > 0)
}

// describeCilium names the first step's change: "chart 1.15.6 -> 1.16.0; values policyAuditMode".
func (t transition) describeCilium() string {
	var parts []string
	switch {
	case t.unread != "" && t.mayApply:
		return fmt.Sprintf("the HelmRelease replaces any that Flux may apply now under its name, %s/%s, which cannot be read",
			t.namespace[1], flux.ReleaseName)
	case t.unread != "":
		return fmt.Sprintf("the HelmRelease replaces what Flux applies now under its name, %s/%s, which cannot be read",
			t.namespace[1], flux.ReleaseName)
	case t.releaseErr != nil:
		return fmt.Sprintf("the HelmRelease applied now cannot be read (%v)", t.releaseErr)
	case t.newRelease:
		return "the HelmRelease is new"
	case t.takeover != nil:
		parts = append(parts, fmt.Sprintf("the HelmRelease takes over yours (Kustomization %s)", t.takeover.by))
	}
	if t.chart[0] != t.chart[1] {
		parts = append(parts, fmt.Sprintf("chart %s -> %s", t.chart[0], t.chart[1]))
	}
	if len(t.values) > 0 {
		parts = append(parts, "values "+strings.Join(t.values, ", "))
	}
	return strings.Join(parts, "; ")
}

// release is what a HelmRelease file kronform-gen wrote says: its namespace, the chart version and the values.
type release struct {
	namespace string
	chart     string
	values    map[string]any
}

// applied is where the baseline's Flux Kustomizations of a cluster apply Cilium and the host policies from: the
// folders their spec.path names ("" when the cluster folder has no such Kustomization).
type applied struct {
	release, policies string // the HelmRelease file, and the host-policies folder
	from              string // the file declaring the cilium Kustomization
}

// appliedDirs reads the Flux Kustomizations directly in the cluster's folder (flux.path) at the baseline, the ones
// flux bootstrap's root Kustomization applies, and finds the cilium and host-policies ones: what Flux applies for the
// cluster now, wherever it is (a cluster renamed keeps its folder, not its infrastructure/ folder).
func appliedDirs(c spec.Cluster, base *baseline) (applied, error) {
	var out applied
	direct, err := base.files(c.Flux.Path)
	if err != nil {
		return out, fmt.Errorf("reading %s %s: %w", c.Flux.Path, base.label, err)
	}
	if len(direct) == 0 {
		return out, nil
	}
	src, err := preview.FromFiles(direct)
	if err == nil {
		src.SetRepositoryPath(base.repositoryPath())
		var ks []preview.Kustomization
		if ks, err = src.Kustomizations(); err == nil {
			pick := func(name string) (preview.Kustomization, bool) {
				var found []preview.Kustomization
				for _, k := range ks {
					if k.Name == name && k.Outside == nil {
						found = append(found, k)
					}
				}
				for _, k := range found {
					if k.Namespace == c.Flux.Namespace {
						return k, true
					}
				}
				if len(found) == 1 {
					return found[0], true
				}
				return preview.Kustomization{}, false
			}
			if k, ok := pick(flux.CiliumName); ok {
				out.release, out.from = path.Join(k.Path, "helmrelease.yaml"), k.File
			}
			if k, ok := pick(flux.HostPoliciesName); ok {
				out.policies = k.Path
			}
		}
	}
	if err != nil {
		return out, &unreadableKustomizations{dir: c.Flux.Path, files: unreadableFiles(direct, base.repositoryPath()),
			err: fmt.Errorf("the Flux Kustomizations in %s %s: %w", c.Flux.Path, base.label, err)}
	}
	return out, nil
}

// unreadableKustomizations is why the Flux Kustomizations in a cluster's folder cannot be read at a baseline: where
// the cilium and host-policies Kustomizations apply from, so what Flux applies for the cluster, is then unknown,
// and stays so whatever the spec says until the files are repaired. files names those that cannot be read alone.
type unreadableKustomizations struct {
	dir   string
	files []string
	err   error
}

func (u *unreadableKustomizations) Error() string { return u.err.Error() }
func (u *unreadableKustomizations) Unwrap() error { return u.err }

// unreadableFiles lists, sorted, the files of a folder that cannot be read as Flux Kustomizations each on its own.
func unreadableFiles(files map[string][]byte, repositoryPath string) []string {
	var out []string
	for p, data := range files {
		src, err := preview.FromFiles(map[string][]byte{p: data})
		if err == nil {
			src.SetRepositoryPath(repositoryPath)
			_, err = src.Kustomizations()
		}
		if err != nil {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// transitions compares each cluster's Cilium release and host policies in the new tree with the ones its baseline
// applies. Clusters whose HelmRelease is byte for byte the baseline's are left out: their first step changes nothing.
func (a *app) transitions(m *spec.Model, t *tree.Tree, bases []*baseline) ([]transition, error) {
	readNew := func(p string) ([]byte, error) {
		if b, ok := t.File(p); ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	dirs := make([]applied, len(m.Clusters))
	dirErrs := make([]error, len(m.Clusters))
	var fresh []int
	for i, c := range m.Clusters {
		if dirs[i], dirErrs[i] = appliedDirs(c, bases[i]); dirErrs[i] == nil && dirs[i].release == "" {
			fresh = append(fresh, i)
		}
	}
	var users map[int]userRelease
	if len(fresh) > 0 {
		users = userReleases(m, bases, fresh)
	}
	var out []transition
	for i, c := range m.Clusters {
		base := bases[i]
		releasePath := path.Join(flux.ComponentDir(c, flux.CiliumName), "helmrelease.yaml")
		newData, err := readNew(releasePath)
		if err != nil {
			return nil, fail(ExitFailure, "%s: %v", releasePath, err)
		}
		newRelease, err := releaseOf(newData)
		if err != nil {
			return nil, fail(ExitFailure, "%s: %v", releasePath, err)
		}
		tr := transition{cluster: i, base: base}
		tr.chart[1], tr.namespace[1] = newRelease.chart, newRelease.namespace
		dirs, dirsErr := dirs[i], dirErrs[i]
		user := users[i]
		if user.refuse != "" {
			// Neither the release before nor kronform-gen's in its place is what the files say: no check of the change
			// means anything, whatever it changes (see kustomizeMark).
			return nil, fail(ExitFailure, "refusing to write %s: cluster %s: %s", a.outDir, c.Name, user.refuse)
		}
		if u := user.found; u != nil && u.reinstall == "" {
			// Settings of the agents' that nobody read are unknown, as those of a release that cannot be read.
			if why := u.unknownSettings(cilium.SettingsKeys(u.chart)); why != "" {
				user = userRelease{why: why, chart: u.chart}
			}
		}
		switch {
		case dirsErr != nil:
			tr.releaseErr, tr.appliedErr = dirsErr, dirsErr
			errors.As(dirsErr, &tr.unreadable)
		case dirs.release == "" && user.found != nil && user.found.reinstall != "":
			tr.newRelease, tr.reinstall = true, user.found
		case dirs.release == "" && user.found != nil:
			u := user.found
			tr.takeover, tr.old = u, release{namespace: c.Cilium.Namespace, chart: u.chart, values: u.values}
			tr.chart[0], tr.namespace[0] = u.chart, c.Cilium.Namespace
		case dirs.release == "" && user.why != "":
			// Taken for a first install, the agents were judged in step 1 alone, while they may enforce settings
			// nobody read when host-policies lands: judged as unknown, the change is refused unless the chart restarts
			// them in step 1. A chart version read still warns of skipped minor releases.
			tr.unread, tr.releaseErr, tr.mayApply = user.why, errors.New(user.why), user.mayApply
			tr.chart[0] = user.chart
		case dirs.release == "":
			tr.newRelease = true
		default:
			oldData, err := base.read(dirs.release)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				tr.releaseErr = fmt.Errorf("%s applies %s, which has no helmrelease.yaml", dirs.from, path.Dir(dirs.release))
			case err != nil:
				return nil, fail(ExitUsage, "reading %s %s: %v", dirs.release, base.label, err)
			case bytes.Equal(oldData, newData):
				continue
			default:
				if tr.old, err = releaseOf(oldData); err != nil {
					// Not a release kronform-gen wrote: what the agents run now is unknown.
					tr.releaseErr = fmt.Errorf("%s: %w", dirs.release, err)
				}
				tr.chart[0], tr.namespace[0] = tr.old.chart, tr.old.namespace
			}
		}
		tr.values = changedKeys(tr.old.values, newRelease.values, "")
		if tr.takeover != nil {
			tr.takeover.dropped = droppedKeys(tr.values, tr.old.values, newRelease.values)
		}
		for _, k := range tr.values {
			if cilium.ReachesAgents(k) {
				tr.agentValues = append(tr.agentValues, k)
			}
		}
		oldPins, _ := tr.oldPinsImage()
		switch {
		case tr.newRelease:
		case tr.releaseErr != nil:
			// The release before is unknown, but the chart's checksum of cilium-config in the agents' pod template
			// changes from one without it or of another cilium-config: either the agents restart in step 1, or they
			// run this cilium-config already.
			if cilium.RollsOutAgents(newRelease.values) {
				tr.restarts = "with rollOutCiliumPods the chart restarts the agents in step 1"
			}
		case cilium.NewChart(tr.chart[0], tr.chart[1]) && !oldPins && !cilium.PinsAgentImage(newRelease.values):
			tr.restarts = "the new chart version restarts the agents in step 1 (a new image)"
		case cilium.RollsOutAgents(newRelease.values) || tr.oldRollsOut():
			tr.restarts = "with rollOutCiliumPods the chart restarts the agents in step 1"
		}
		written, err := readPolicySource(readNew, flux.ComponentDir(c, flux.HostPoliciesName))
		if err != nil {
			return nil, fail(ExitFailure, "the policies this run writes: %v", err)
		}
		var applied policySource
		if dirs.policies != "" && tr.appliedErr == nil {
			if applied, tr.appliedErr = readPolicySource(base.read, dirs.policies); tr.appliedErr == nil && applied.kustomization == nil {
				tr.appliedErr = fmt.Errorf("%s has no kustomization.yaml", dirs.policies)
			}
		}
		if tr.appliedErr == nil && applied.sameAs(written) {
			// The same bytes make the same policies: step 2 changes nothing, and nothing comes in between. A fleet-wide
			// change of Cilium's values leaves most clusters' policies so, and parsing them was most of its run.
			out = append(out, tr)
			continue
		}
		if tr.written, err = written.policies(); err != nil {
			return nil, fail(ExitFailure, "the policies this run writes: %v", err)
		}
		if tr.appliedErr == nil {
			tr.applied, tr.appliedErr = applied.policies()
		}
		tr.policies = changedPolicies(tr.applied, tr.written)
		if tr.appliedErr != nil {
			// What changes is unknown: name what comes.
			tr.policies = []string{"no policies"}
			if len(tr.written) > 0 {
				tr.policies = nil
				for _, p := range tr.written {
					tr.policies = append(tr.policies, p.Name)
				}
			}
		}
		out = append(out, tr)
	}
	return out, nil
}

// releaseOf reads the chart version and the values of a HelmRelease file. Whole numbers come out as int, as the
// spec loader gives them (tunnelPort is read so).
func releaseOf(data []byte) (release, error) {
	var hr struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Chart struct {
				Spec struct {
					Version string `json:"version"`
				} `json:"spec"`
			} `json:"chart"`
			Values map[string]any `json:"values"`
		} `json:"spec"`
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return release{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&hr); err != nil {
		return release{}, err
	}
	if hr.Kind != "HelmRelease" {
		return release{}, fmt.Errorf("not a HelmRelease")
	}
	values, _ := wholeNumbers(hr.Spec.Values).(map[string]any)
	return release{namespace: hr.Metadata.Namespace, chart: hr.Spec.Chart.Spec.Version, values: values}, nil
}

// wholeNumbers turns the json.Numbers of decoded JSON into int when whole, else float64.
func wholeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = wholeNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = wholeNumbers(e)
		}
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return int(n)
		}
		f, _ := t.Float64()
		return f
	}
	return v
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

// policySource is what a host-policies folder applies, as kronform-gen writes one: its kustomization.yaml and the
// files that lists, in order. A folder without a kustomization.yaml (kustomization nil) applies no policies.
type policySource struct {
	kpath         string
	kustomization []byte
	files         []string // the listed files' paths
	data          [][]byte // and their contents
}

// readPolicySource reads a host-policies folder's kustomization.yaml and the files it lists. Anything there that
// kronform-gen does not write (a patch, a file it does not list as a plain name) is an error: the policies it
// applies are then unknown.
func readPolicySource(read func(string) ([]byte, error), dir string) (policySource, error) {
	src := policySource{kpath: path.Join(dir, "kustomization.yaml")}
	data, err := read(src.kpath)
	if errors.Is(err, fs.ErrNotExist) {
		return src, nil
	}
	if err != nil {
		return src, err
	}
	src.kustomization = data
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return src, fmt.Errorf("%s: %w", src.kpath, err)
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
				return src, fmt.Errorf("%s: resources is not a list of file names", src.kpath)
			}
		default:
			return src, fmt.Errorf("%s: %s: kronform-gen writes only a list of resources", src.kpath, key)
		}
	}
	for _, r := range resources {
		if r == "" || strings.Contains(r, "/") || r == "." || r == ".." {
			return src, fmt.Errorf("%s: resource %q is not a file of the folder", src.kpath, r)
		}
		p := path.Join(dir, r)
		data, err := read(p)
		if err != nil {
			return src, err
		}
		src.files, src.data = append(src.files, p), append(src.data, data)
	}
	return src, nil
}

// sameAs says whether two folders apply the same policies because they hold the same bytes: the same
// kustomization.yaml (so the same list of files) and, file by file, the same contents. Folders that differ may still
// apply the same policies; policies says.
func (s policySource) sameAs(o policySource) bool {
	if !bytes.Equal(s.kustomization, o.kustomization) || (s.kustomization == nil) != (o.kustomization == nil) ||
		len(s.data) != len(o.data) {
		return false
	}
	for i := range s.data {
		if !bytes.Equal(s.data[i], o.data[i]) {
			return false
		}
	}
	return true
}

// policies parses the CiliumClusterwideNetworkPolicies of the listed files. An object that is not a policy
// kronform-gen could have written is an error: the policies the folder applies are then unknown.
func (s policySource) policies() ([]cilium.ClusterwideNetworkPolicy, error) {
	var out []cilium.ClusterwideNetworkPolicy
	for i, p := range s.files {
		docs, err := yamlDocuments(s.data[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, doc := range docs {
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

// transitionGuard refuses a change that could lock the admin, the nodes or Flux out between Flux's two steps: for a
// cluster whose agents run new settings in step 1 and whose host policies change in step 2, every state in between
// that enforces (its settings have audit mode off) must pass the checks that expect a flow allowed (the built-in
// ones, for the settings the agents run then, and the spec's). When the new settings enforce, a check that expects a
// flow denied fails there only when it holds now: an exposure neither end has. Each refusal names the state that
// fails, the failures with their traces, and a way of splitting the change that works.
func (a *app) transitionGuard(m *spec.Model, steps []transition) error {
	var refused []string
	var lockouts, exposures, unknown, repair int
	for _, t := range steps {
		if len(t.policies) == 0 || !t.settingsChange() {
			continue // one step, or none, changes: the state in between is the start or the end
		}
		j := judge(m, t)
		if j.lockouts+j.exposures == 0 && !j.unknown {
			continue
		}
		io.WriteString(a.stderr, j.report)
		refused = append(refused, m.Clusters[t.cluster].Name)
		lockouts, exposures = lockouts+j.lockouts, exposures+j.exposures
		if j.unknown {
			unknown++
		}
		if j.repair {
			repair++
		}
	}
	if len(refused) == 0 {
		return nil
	}
	var what []string
	if lockouts > 0 {
		what = append(what, fmt.Sprintf("%d check(s) fail between Flux's two steps, which could lock you out (Flux too: then nothing more is applied)", lockouts))
	}
	if exposures > 0 {
		what = append(what, fmt.Sprintf("%d check(s) fail between Flux's two steps, which would expose what they should deny", exposures))
	}
	if unknown > 0 {
		what = append(what, "the state between Flux's two steps cannot be verified")
	}
	how := "split the change as given above"
	switch {
	case repair == len(refused):
		how = "repair the files named above first"
	case repair > 0:
		how = "split the change, or repair the files named, as given above"
	}
	return fail(ExitFailure, "refusing to write %s: cluster %s: %s; %s", a.outDir,
		strings.Join(refused, ", "), strings.Join(what, "; "), how)
}

// judgement is one cluster's transition judged: the failures in between, and the report that says so.
type judgement struct {
	lockouts, exposures int
	unknown             bool
	repair              bool // files Flux reads must be repaired by hand: no split of the change helps
	report              string
}

// stateChecks evaluates the cluster's checks with the agents running settings (a cluster of the model, or one
// cilium.AsReleased) and enforcing policies; nil when those settings enforce nothing (audit mode). The agents' own
// behaviour follows the release they run, the image the settings' values pin or else the chart's (cilium.AgentsOf):
// what reaches the host policies, and, before 1.16, no endPort, so a range written for a later one is enforced as its
// first port (firewall.VerifyWith).
func stateChecks(i int, settings spec.Cluster, policies []cilium.ClusterwideNetworkPolicy) []firewall.Check {
	if settings.Cilium.AuditMode {
		return nil
	}
	return firewall.VerifyWith(i, settings, policies)
}

// judge evaluates each state a transition can pass through and, when one fails, words the refusal.
func judge(m *spec.Model, t transition) judgement {
	c := m.Clusters[t.cluster]
	label := t.base.label
	known := !t.newRelease && t.releaseErr == nil
	var before spec.Cluster // the settings the agents run now
	if known {
		before = cilium.AsReleased(c, t.chart[0], t.old.values)
		if t.agentImageUnread() {
			// The agents' image may be pinned where this run does not read (a valuesFrom, a Secret): any release.
			before.Cilium.Values = cilium.DeepMerge(before.Cilium.Values, map[string]any{"image": map[string]any{"override": cilium.UnreadValue}})
		}
	}

	// holdsNow are the checks expecting a denial that pass now; nil when that is unknown or nothing is enforced.
	var holdsNow map[string]bool
	if known && t.appliedErr == nil {
		holdsNow = map[string]bool{}
		for _, ch := range stateChecks(t.cluster, before, t.applied) {
			if ch.OK && ch.Assertion.Expect == spec.Denied {
				holdsNow[ch.Path] = true
			}
		}
	}
	failures := func(settings spec.Cluster, policies []cilium.ClusterwideNetworkPolicy) (failing []firewall.Check, lockouts, exposures int) {
		for _, ch := range stateChecks(t.cluster, settings, policies) {
			switch {
			case ch.OK:
			case ch.Assertion.Expect == spec.Allowed:
				failing, lockouts = append(failing, ch), lockouts+1
			case !c.Cilium.AuditMode && holdsNow[ch.Path]:
				failing, exposures = append(failing, ch), exposures+1
			}
		}
		return failing, lockouts, exposures
	}

	var j judgement
	var b strings.Builder
	fmt.Fprintf(&b, "cluster %s: Flux applies this change in two steps: 1. cilium: %s; 2. host-policies, which waits for it: %s.",
		c.Name, t.describeCilium(), strings.Join(t.policies, ", "))
	switch {
	case t.restarts != "":
		fmt.Fprintf(&b, " %s%s.", strings.ToUpper(t.restarts[:1]), t.restarts[1:])
	case t.releaseErr != nil:
		b.WriteString(" What the agents run now is unknown, and they take the new settings only when they restart, before or after step 2.")
	case t.agentsLag():
		why := "no new chart version"
		switch {
		case t.chart[0] != t.chart[1] && cilium.NewChart(t.chart[0], t.chart[1]):
			why = fmt.Sprintf("chart %s -> %s, but the values pin the agents' image", t.chart[0], t.chart[1])
			if _, unread := t.oldPinsImage(); len(unread) > 0 {
				why = fmt.Sprintf("chart %s -> %s, but the values before may pin the agents' image: %s, not read here",
					t.chart[0], t.chart[1], strings.Join(unread, ", "))
			}
		case t.chart[0] != t.chart[1]:
			why = fmt.Sprintf("%s may name the chart %s installed, so no new image", t.chart[1], t.chart[0])
		}
		// A change of the image the chart renders changes the agents' pod template, which rolls the DaemonSet: where
		// image.* values change, the chart may restart them after all. The check stays as strict (the old agents under
		// the new policies); only the words must not say the chart does not restart them.
		does, images := "does not do", ""
		if changed := slices.DeleteFunc(slices.Clone(t.agentValues), func(k string) bool { return !imageKey(k) }); len(changed) > 0 {
			does = "may not do"
			images = fmt.Sprintf("; %s change, which restarts them only if that changes the image reference the chart renders, not judged here",
				strings.Join(changed, ", "))
		}
		fmt.Fprintf(&b, " The agents take the new values (%s) only when they restart, which the chart %s here (%s, "+
			"no rollOutCiliumPods%s): that may be before or after step 2.", strings.Join(t.agentValues, ", "), does, why, images)
	}
	fmt.Fprintf(&b, " What Flux applies now is read %s: %s.%s\n", label, t.base.why, t.base.unpushedNote())

	// A: the new settings with the old policies, between the steps.
	failedA := false
	switch failing, l, e := failures(c, t.applied); {
	case c.Cilium.AuditMode:
		// The new settings enforce nothing, whatever the policies.
	case t.appliedErr != nil:
		fmt.Fprintf(&b, "cluster %s: after step 1 and before step 2, the agents run the new Cilium settings with the host policies %s, which cannot be read: %v\n",
			c.Name, label, t.appliedErr)
		j.unknown, failedA = true, true
	case len(failing) > 0:
		fmt.Fprintf(&b, "cluster %s: after step 1 and before step 2, the agents run the new Cilium settings%s with the host policies %s, and %d check(s) fail:\n",
			c.Name, pinnedAgents(c), label, len(failing))
		printFailures(&b, m, failing, nil)
		j.lockouts, j.exposures, failedA = j.lockouts+l, j.exposures+e, true
	}
	// B: the old settings with the new policies, after step 2 until the agents restart.
	failedB := false
	if t.agentsLag() {
		if t.releaseErr != nil {
			fmt.Fprintf(&b, "cluster %s: after step 2 and until the agents restart, they run the Cilium settings %s, which cannot be read: %v\n",
				c.Name, label, t.releaseErr)
			if t.mayApply {
				fmt.Fprintf(&b, "cluster %s: %s\n", c.Name, findRelease(c))
			}
			j.unknown, failedB = true, true
		} else if failing, l, e := failures(before, t.written); len(failing) > 0 {
			fmt.Fprintf(&b, "cluster %s: after step 2 and until the agents restart, they run the Cilium settings %s%s with the new host policies, and %d check(s) fail:\n",
				c.Name, label, pinnedAgents(before), len(failing))
			printFailures(&b, m, failing, nil)
			j.lockouts, j.exposures, failedB = j.lockouts+l, j.exposures+e, true
		}
	}
	if !failedA && !failedB {
		return judgement{}
	}

	// The way out follows from the state that failed, and is checked where kronform-gen can.
	ns := c.Cilium.Namespace
	restart := fmt.Sprintf("kubectl -n %s rollout restart daemonset/cilium; kubectl -n %s rollout status daemonset/cilium", ns, ns)
	passes := func(settings spec.Cluster, policies []cilium.ClusterwideNetworkPolicy) bool {
		failing, _, _ := failures(settings, policies)
		return len(failing) == 0
	}
	compiled := func(ranges bool) []cilium.ClusterwideNetworkPolicy {
		var out []cilium.ClusterwideNetworkPolicy
		for _, p := range c.HostPolicies {
			out = append(out, cilium.CompilePolicy(p, ranges))
		}
		return out
	}
	if u := t.unreadable; u != nil {
		// Neither step can be judged, whatever the spec says (an unchanged one too), and no split helps: the files
		// must be repaired, which generate does not do (it would judge nothing then).
		what := "the files there"
		if len(u.files) > 0 {
			what = strings.Join(u.files, ", ")
		}
		fmt.Fprintf(&b, "cluster %s: a way that works: repair %s by hand first (the error above says why it cannot be read): "+
			"while the Flux Kustomizations in %s cannot be read %s, what Flux applies for the cluster is unknown whatever the "+
			"spec says, and no split of the change helps; commit, push and let Flux apply that repair alone; then run generate "+
			"again.\n", c.Name, what, u.dir, label)
		j.repair = true
		j.report = b.String()
		return j
	}
	fmt.Fprintf(&b, "cluster %s: a way that works: ", c.Name)
	switch {
	case t.appliedErr != nil:
		fmt.Fprintf(&b, "first the host policies alone, with the Cilium settings %s; commit, push and let Flux apply them; then the Cilium change.\n", label)
	case !failedA:
		// Only the agents lagging behind the policies fails: Cilium first, and the agents restarted before the policies.
		fmt.Fprintf(&b, "set rollOutCiliumPods: true in cilium.values in this change: the chart then restarts the agents in step 1, "+
			"so only the new Cilium settings with the host policies %s come in between, and they pass. Or first the Cilium change "+
			"alone, with the host policies %s; commit, push and let Flux apply it; restart the agents (%s); then the host policies.\n",
			label, label, restart)
	case known && (spec.CiliumPortRanges(t.chart[0]) || fitsWithoutRanges(c)) &&
		passes(before, compiled(spec.CiliumPortRanges(t.chart[0]))) && passes(c, compiled(spec.CiliumPortRanges(t.chart[0]))):
		fmt.Fprintf(&b, "first the host policies alone, with the Cilium settings %s; commit, push and let Flux apply them; then the Cilium change.\n", label)
	case known && spec.CiliumPortRanges(t.chart[0]) && !spec.CiliumPortRanges(t.chart[1]) && len(portRanges(c)) > 0 &&
		passes(before, compiled(false)) && passes(c, compiled(false)):
		fmt.Fprintf(&b, "first write the port ranges of the host policies as single ports (%s), with the Cilium settings %s: "+
			"an agent before 1.16 knows no endPort and enforces only the first port of a range written for %s until host-policies "+
			"is applied, and while the chart stays at %s the spec writes ranges with endPort, so the policies cannot go first as they are; "+
			"commit, push and let Flux apply them; then the Cilium change.\n",
			strings.Join(portRanges(c), ", "), label, t.chart[0], t.chart[0])
	default:
		then := "then the Cilium change"
		if t.agentsLag() {
			then += fmt.Sprintf(" (with rollOutCiliumPods: true in cilium.values, or restart the agents once Flux has applied it: %s)", restart)
		}
		fmt.Fprintf(&b, "no order of the two changes passes. First host policies that pass under both the Cilium settings %s and "+
			"the new ones (the failures above name the flows each needs), with the Cilium settings %s; commit, push and let Flux "+
			"apply them; %s; then the host policies you want.\n", label, label, then)
	}
	j.report = b.String()
	return j
}

// imageKey says whether a dotted key of the values composes the agents' image (image, image.*), whose change rolls
// the agents' DaemonSet where it changes the image reference the chart renders.
func imageKey(k string) bool { return k == "image" || strings.HasPrefix(k, "image.") }

// pinnedAgents names the release(s) the checks judged the agents of settings as, where the values pin their image
// (cilium.AgentsOf): " (agents judged as Cilium 1.15.1 (...))"; "" where they run the chart's.
func pinnedAgents(settings spec.Cluster) string {
	a := cilium.AgentsOf(settings.Cilium.Version, settings.Cilium.Values)
	if !a.Pins() {
		return ""
	}
	return fmt.Sprintf(" (agents judged as Cilium %s)", a)
}

// fitsWithoutRanges says whether the cluster's host policies can be written for a chart without port ranges: no rule
// comes to more than spec.MaxExpandedPorts single ports (the spec refuses more for such a chart).
func fitsWithoutRanges(c spec.Cluster) bool {
	for _, p := range c.HostPolicies {
		for _, rules := range [][]spec.PolicyRule{p.Ingress, p.IngressDeny, p.Egress, p.EgressDeny} {
			for _, r := range rules {
				n := 0
				for _, s := range r.Ports {
					if pr, err := spec.ParsePort(s); err == nil {
						n += pr.High - pr.Low + 1
					}
				}
				if n > spec.MaxExpandedPorts {
					return false
				}
			}
		}
	}
	return true
}

// portRanges lists the port ranges of the cluster's host policies, as "POLICY: LOW-HIGH/PROTO", in spec order.
func portRanges(c spec.Cluster) []string {
	var out []string
	for _, p := range c.HostPolicies {
		for _, rules := range [][]spec.PolicyRule{p.Ingress, p.IngressDeny, p.Egress, p.EgressDeny} {
			for _, r := range rules {
				for _, port := range r.Ports {
					if strings.Contains(port, "-") && !slices.Contains(out, p.Name+": "+port) {
						out = append(out, p.Name+": "+port)
					}
				}
			}
		}
	}
	return out
}

// printRestartNotes says when the agents must be restarted for a change to take effect: they read cilium-config
// only when they start, and the chart restarts them on a change of it only with rollOutCiliumPods (a new chart
// version restarts them anyway, with a new image). Values the agents do not read (cilium.ReachesAgents: the
// operator's, Hubble Relay's and UI's, ...) need no restart.
func (a *app) printRestartNotes(m *spec.Model, steps []transition) {
	for _, t := range steps {
		if t.newRelease || t.releaseErr != nil || len(t.agentValues) == 0 || t.restarts != "" {
			continue
		}
		c := m.Clusters[t.cluster]
		until := ""
		if slices.Contains(t.agentValues, "policyAuditMode") {
			// The key changes (a value of the user's the spec drops, or one it sets): the note speaks of audit mode
			// only when what the agents run until the restart is not what comes.
			if before := t.auditModeBefore(); before != c.Cilium.AuditMode {
				until = fmt.Sprintf(" (until then audit mode stays %s)", map[bool]string{true: "on", false: "off"}[before])
			}
		}
		// A change of the image the chart renders rolls the agents' DaemonSet too (see the transition's message).
		only := "only with rollOutCiliumPods: true"
		if slices.ContainsFunc(t.agentValues, imageKey) {
			only += " or where the image reference it renders changes, which this run does not judge"
		}
		fmt.Fprintf(a.stderr, "note: cluster %s: Cilium's values change (%s): the agents read cilium-config only when they start, and the chart "+
			"restarts them %s; once Flux has applied this, restart them%s: kubectl -n %s rollout restart daemonset/cilium\n",
			c.Name, strings.Join(t.agentValues, ", "), only, until, c.Cilium.Namespace)
	}
}

// auditModeBefore says whether the release before the change has audit mode on (policyAuditMode: true, as the chart
// reads it; unset is off). A takeover whose value is not read here is not known (see unknownSettings).
func (t transition) auditModeBefore() bool {
	v, _ := cilium.ValueAt(t.old.values, "policyAuditMode")
	return v == true
}

// oldRollsOut says whether the release before the change has rollOutCiliumPods: true, so that its agents' pods carry
// the config's checksum, which the new release changes or drops: the upgrade restarts them. A takeover's value that
// is not read here (a valuesFrom merged after the one that sets it, a Secret) may be anything: taken as unset, which
// checks the old agents under the new policies rather than skip it.
func (t transition) oldRollsOut() bool {
	if t.takeover != nil && t.takeover.unread("rollOutCiliumPods") {
		return false
	}
	return cilium.RollsOutAgents(t.old.values)
}

// oldPinsImage says whether the release before the change may pin the agents' image (cilium.PinsAgentImage): then a
// new chart version need not restart them. unread names the keys that pin it which a takeover leaves unread (a
// valuesFrom not read here, a Secret), where its read values pin nothing: they may, so the agents are taken as not
// restarted, and the check of the old agents under the new policies runs rather than be skipped.
func (t transition) oldPinsImage() (pins bool, unread []string) {
	if cilium.PinsAgentImage(t.old.values) {
		return true, nil
	}
	if t.takeover != nil {
		for _, k := range []string{"image.digest", "image.override", "image.tag"} {
			if t.takeover.unread(k) {
				unread = append(unread, k)
			}
		}
	}
	return len(unread) > 0, unread
}

// agentImageUnread says whether a takeover leaves a value that composes the agents' image (image.override, tag, digest,
// useDigest: see cilium.AgentsOf) unread here, a valuesFrom not read or a Secret, where an override read does not
// decide it whatever they say: then the agents may run any release.
func (t transition) agentImageUnread() bool {
	if t.takeover == nil {
		return false
	}
	if o, _ := cilium.ValueAt(t.old.values, "image.override"); o != nil && o != "" && !t.takeover.unread("image.override") {
		return false
	}
	return slices.ContainsFunc([]string{"image.override", "image.tag", "image.digest", "image.useDigest"}, t.takeover.unread)
}

// findRelease tells how to find whether a HelmRelease runs under the name kronform-gen's takes on the cluster, and
// which Flux Kustomization applies it: kustomize-controller labels what it applies with its name and namespace.
func findRelease(c spec.Cluster) string {
	return fmt.Sprintf("to find whether a HelmRelease %s/%s runs there, and which Kustomization applies it: kubectl -n %s get "+
		"helmrelease %s -o jsonpath='{.metadata.labels}' (its labels kustomize.toolkit.fluxcd.io/name and "+
		"kustomize.toolkit.fluxcd.io/namespace name the Kustomization)", c.Cilium.Namespace, flux.ReleaseName, c.Cilium.Namespace,
		flux.ReleaseName)
}

// printTakeovers speaks of the clusters whose release is new to kronform-gen while flux bootstrap's files say the
// cluster is live. Where Flux applies a HelmRelease of the user's under the name kronform-gen's takes (userReleases),
// the transition was judged against it, and the note says so, and what it could not compare (valuesFrom, values
// substituted from a Secret). Elsewhere Flux's pods run, so a CNI does, most likely a Cilium installed another way
// (helm install), which the tree cannot see: the transition checks and restart notes take this release for a first
// install; helm-controller instead upgrades a release found under the same name (one it did not install: "release
// not managed by controller") to the spec's values, resetting the rest (upgrade.preserveValues is not set), which the
// agents read only when they restart. Under another name, or with another CNI, it installs a second one beside it.
// Where what Flux applies under that name cannot be read (unread), the transition was judged as from settings unknown,
// and a second note says why, and what that let through.
func (a *app) printTakeovers(m *spec.Model, steps []transition, boot []preview.Kustomization) {
	for _, t := range steps {
		c := m.Clusters[t.cluster]
		if t.takeover != nil {
			io.WriteString(a.stderr, t.takeover.note(c, t))
			continue
		}
		if t.reinstall != nil {
			io.WriteString(a.stderr, t.reinstall.reinstallWarning(c, t.base.label))
			continue
		}
		if !t.newRelease && t.unread == "" {
			continue
		}
		if _, ok := preview.Bootstrap(path.Base(c.Flux.Path), boot); !ok {
			continue
		}
		// The chart's checksum of cilium-config in the agents' pods, with rollOutCiliumPods, changes from a release
		// without it or with another cilium-config: the upgrade restarts them.
		restart := fmt.Sprintf("so once Flux has applied this, restart them: kubectl -n %s rollout restart daemonset/cilium", c.Cilium.Namespace)
		if values, err := cilium.HelmValues(c); err == nil && cilium.RollsOutAgents(values) {
			restart = "and with rollOutCiliumPods: true the chart restarts them when helm-controller upgrades the release"
		}
		fmt.Fprintf(a.stderr, "note: cluster %s: %s is bootstrapped (Flux runs there, so a CNI does) and Flux applies no Cilium "+
			"HelmRelease of kronform-gen's there yet: a Cilium installed another way under the same release name "+
			"(%s/cilium; helm -n %s list shows it) is upgraded by helm-controller to the spec's values, which drops every "+
			"value the spec does not set, while under another name, or beside another CNI, a second one is installed. "+
			"Compare the values first (helm -n %s get values cilium; kronform-gen diff --ref shows a HelmRelease of yours "+
			"changing); the agents read new values only when they start, %s\n", c.Name, c.Flux.Path, c.Cilium.Namespace,
			c.Cilium.Namespace, c.Cilium.Namespace, restart)
		if t.unread != "" {
			judged := "so host policies in the same change are refused unless the chart restarts the agents in step 1 " +
				"(rollOutCiliumPods: true in cilium.values); later changes are judged as if the agents ran this release, so " +
				"restart them once Flux has applied it, before any host policies"
			if t.restarts != "" {
				judged = "and with rollOutCiliumPods the chart restarts them in step 1: the transition checks judged the new " +
					"settings alone"
			}
			if t.mayApply {
				fmt.Fprintf(a.stderr, "note: cluster %s: Flux may apply a HelmRelease of yours there under that name, which could "+
					"not be read: %s; what the agents run now is unknown, %s; %s\n", c.Name, t.unread, judged, findRelease(c))
			} else {
				fmt.Fprintf(a.stderr, "note: cluster %s: a HelmRelease of yours that Flux applies there could not be read: %s; "+
					"what the agents run now is unknown, %s\n", c.Name, t.unread, judged)
			}
		}
	}
}

// printMinorSkips warns of a chart version that moves Cilium by more than one minor release from the one the
// baseline applies, up or down: Cilium tests upgrades and rollbacks only between consecutive minor releases, and its
// upgrade notes for each minor say what to do before it (docs.cilium.io, Upgrade Guide). A range counts as the
// release Flux installs for it, the newest it admits (spec.CiliumInstalledMinor), not the lowest whose values are
// written: 1.16.0 -> ">=1.17.0 <1.19.0" installs 1.18.
func (a *app) printMinorSkips(m *spec.Model, steps []transition) {
	for _, t := range steps {
		if t.newRelease || t.chart[0] == "" {
			continue // no release before, or none whose chart version is read
		}
		from, err1 := spec.CiliumInstalledMinor(t.chart[0])
		to, err2 := spec.CiliumInstalledMinor(t.chart[1])
		if err1 != nil || err2 != nil || from.Major() != to.Major() {
			continue
		}
		lo, hi := min(from.Minor(), to.Minor()), max(from.Minor(), to.Minor())
		if hi-lo < 2 {
			continue
		}
		step := from.Minor() + 1
		if to.Minor() < from.Minor() {
			step = from.Minor() - 1
		}
		// A range names the release Flux installs for it.
		name := func(v string, installed *semver.Version) string {
			if _, err := semver.StrictNewVersion(v); err == nil {
				return v
			}
			return fmt.Sprintf("%s (Flux installs the newest %d.%d release it admits)", v, installed.Major(), installed.Minor())
		}
		fmt.Fprintf(a.stderr, "warning: cluster %s: Cilium goes from %s to %s, across more than one minor release: Cilium "+
			"tests upgrades and rollbacks only between consecutive minor releases (its Upgrade Guide), and each minor's upgrade "+
			"notes say what to do before it; go through %d.%d first (its latest patch), let Flux apply it, then go on\n",
			m.Clusters[t.cluster].Name, name(t.chart[0], from), name(t.chart[1], to), from.Major(), step)
	}
}

// yamlDocuments splits a YAML stream into its documents, as kubectl and Flux read one.
func yamlDocuments(data []byte) ([][]byte, error) {
	var out [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
}
