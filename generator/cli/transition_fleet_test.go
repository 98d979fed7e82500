package cli

import (
	"io/fs"
	"path"
	"runtime"
	"strings"
	"testing"

	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/fleetgen"
)

// fleetTree loads a fleet spec and renders its tree.
func fleetTree(t *testing.T, text string) (*spec.Model, *tree.Tree) {
	t.Helper()
	m, err := spec.Load("fleet.yaml", []byte(text), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.Fleet(m, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m, r.Tree
}

// treeBaseline is a rendered tree standing for what Flux applies now.
func treeBaseline(t *tree.Tree) *baseline {
	read := func(p string) ([]byte, error) {
		if b, ok := t.File(p); ok {
			return b, nil
		}
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	return &baseline{label: "at HEAD", why: "a test", read: read, files: func(dir string) (map[string][]byte, error) {
		out := map[string][]byte{}
		for _, p := range t.Paths() {
			if path.Dir(p) == dir {
				out[p], _ = read(p)
			}
		}
		return out, nil
	}}
}

// inCluster applies a replacer to one cluster's part of a fleetgen spec (clusters are "  - name: ", nodes deeper).
func inCluster(text, name string, r *strings.Replacer) string {
	start := strings.Index(text, "\n  - name: "+name+"\n")
	end := strings.Index(text[start+1:], "\n  - name: ")
	if end < 0 {
		return text[:start] + r.Replace(text[start:])
	}
	end += start + 1
	return text[:start] + r.Replace(text[start:end]) + text[end:]
}

// A fleet-wide change of Cilium's values leaves most clusters' policies as they are: those are compared as bytes and
// not parsed, which was most of such a run; a cluster whose policies change is judged as before. Allocation, not
// time, is what the test measures: a values change costs about twice what a run that changes nothing does (the old
// release is read too), while parsing every cluster's policies on both sides cost seventeen times as much.
func TestTransitionsSkipPoliciesThatAreTheSameBytes(t *testing.T) {
	const n = 40
	old := string(fleetgen.Spec(n))
	// An agent value for every cluster, and for c0007 a tunnel port with a policy that opens it.
	changed := strings.ReplaceAll(old, "operator: {replicas: 2}\n", "operator: {replicas: 2}\n        bpf: {monitorAggregation: medium}\n")
	changed = inCluster(changed, "c0007", strings.NewReplacer("bpf: {monitorAggregation: medium}\n",
		"bpf: {monitorAggregation: medium}\n        tunnelPort: 8473\n",
		"    hostPolicies:\n", "    hostPolicies:\n      - {name: tunnel, nodes: {}, ingress: [{entities: [remote-node], ports: [8473/udp]}]}\n"))
	_, before := fleetTree(t, old)
	mSame, same := fleetTree(t, old)
	m, after := fleetTree(t, changed)
	bases := make([]*baseline, n)
	for i := range bases {
		bases[i] = treeBaseline(before)
	}
	a := &app{}

	steps, err := a.transitions(m, after, bases)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != n {
		t.Fatalf("%d transitions, want %d", len(steps), n)
	}
	for _, s := range steps {
		name := m.Clusters[s.cluster].Name
		if !strings.Contains(strings.Join(s.agentValues, ","), "bpf") {
			t.Errorf("%s: agent values %v, want bpf", name, s.agentValues)
		}
		want := ""
		if name == "c0007" {
			want = "tunnel added"
		}
		if got := strings.Join(s.policies, ", "); got != want {
			t.Errorf("%s: policies %q, want %q", name, got, want)
		}
	}
	var stderr strings.Builder
	a.stderr = &stderr
	if err := a.transitionGuard(m, steps); err == nil || !strings.Contains(err.Error(), "cluster c0007: ") {
		t.Errorf("c0007's tunnel port before its policy: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "FAIL  c0007: built-in: node:n1 -> node:n0 8473/udp allowed") {
		t.Errorf("the refusal does not name the tunnel port:\n%s", stderr.String())
	}

	allocated := func(m *spec.Model, t2 *tree.Tree) uint64 {
		best := uint64(0)
		for range 3 {
			var b, e runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&b)
			if _, err := a.transitions(m, t2, bases); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&e)
			if d := e.TotalAlloc - b.TotalAlloc; best == 0 || d < best {
				best = d
			}
		}
		return best
	}
	none, values := allocated(mSame, same), allocated(m, after)
	ratio := float64(values) / float64(none)
	t.Logf("transitions allocated %d bytes for no change, %d for a fleet-wide values change: x%.1f", none, values, ratio)
	if ratio > 5 {
		t.Errorf("a values change allocates %.1f times what no change does: policies that are the same bytes are parsed", ratio)
	}
}

// The ownership record lists every file of the fleet: the transition check reads it (for repositoryPath) once per
// baseline, not once per cluster, which on 1000 clusters parsed a megabyte a thousand times and made a generate that
// changes nothing five times slower.
func TestTransitionsReadTheOwnershipRecordOncePerBaseline(t *testing.T) {
	const n = 12
	text := string(fleetgen.Spec(n))
	m, before := fleetTree(t, text)
	_, after := fleetTree(t, strings.ReplaceAll(text, "operator: {replicas: 2}\n", "operator: {replicas: 3}\n"))
	base := treeBaseline(before)
	reads, read := 0, base.read
	base.read = func(p string) ([]byte, error) {
		if p == tree.OwnedFile {
			reads++
			return []byte(`{"files":{}}`), nil
		}
		return read(p)
	}
	bases := make([]*baseline, n)
	for i := range bases {
		bases[i] = base
	}
	steps, err := (&app{}).transitions(m, after, bases)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != n {
		t.Fatalf("%d transitions, want %d", len(steps), n)
	}
	if reads != 1 {
		t.Errorf("the ownership record was read %d times for %d clusters of one baseline, want once", reads, n)
	}
}
