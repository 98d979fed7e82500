package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/tree"
)

// TestKillMidWriteLeavesOldOrNewTree kills the real binary (SIGKILL) at every step of a write — before its commit
// point, after each file moved into place, after each stale file removed — and checks the promise: before the commit
// the old tree is on disk untouched, and check judges it; after it, recovery (generate's first step) completes the
// write; either way no mix survives, and check, which writes nothing, refuses to judge a half-written tree rather than
// finishing it.
func TestKillMidWriteLeavesOldOrNewTree(t *testing.T) {
	root := repoRoot(t)
	example, err := os.ReadFile(filepath.Join(root, "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	// The example's demo secret sources and PUBLIC demo key, where its spec names them.
	if err := os.CopyFS(filepath.Join(work, "examples"), os.DirFS(filepath.Join(root, "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(work, "examples", "demo.agekey"))
	oldSpec := filepath.Join(work, "old.yaml")
	newSpec := filepath.Join(work, "new.yaml")
	os.WriteFile(oldSpec, example, 0o644)
	// The new spec changes the Cilium values, drops the preset policy and adds another, so the write has puts and removes.
	changed := strings.Replace(string(example), "version: 1.13.4", "version: 1.16.5", 1)
	changed = strings.Replace(changed, "preset: talos-control-plane", "nodes: {role: control-plane}\n        ingress: [{entities: [world], ports: [6443/tcp]}]", 1)
	changed = strings.Replace(changed, "name: host-fw-control-plane", "name: api-only", 1)
	os.WriteFile(newSpec, []byte(changed), 0o644)

	oldTree := generateInto(t, filepath.Join(work, "old"), oldSpec)
	// The new tree grows from the old one, as every killed run below does, so the unchanged secret keeps its bytes.
	copyTree(t, filepath.Join(work, "old"), filepath.Join(work, "new"))
	newTree := generateInto(t, filepath.Join(work, "new"), newSpec)

	steps := []string{"before-commit"}
	for i := 1; i <= 20; i++ {
		steps = append(steps, fmt.Sprintf("put:%d", i))
	}
	steps = append(steps, "remove:1", "remove:2")
	killed := 0
	for _, step := range steps {
		dir := filepath.Join(work, "run-"+strings.ReplaceAll(step, ":", "-"))
		copyTree(t, filepath.Join(work, "old"), dir)
		if !killAt(t, dir, newSpec, step) {
			continue // the write has fewer steps of this kind
		}
		killed++
		onDisk := snapshot(t, dir)
		if step == "before-commit" {
			if diff := cmp.Diff(oldTree, onDisk); diff != "" {
				t.Errorf("killed before the commit point, the old tree changed:\n%s", diff)
			}
		}
		// check writes nothing: it refuses to judge the half-written tree and leaves it as it is. Killed before the
		// commit, the tree is the old one, whole: check judges it (drift against the new spec, exit 1).
		cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "check", "-f", newSpec, "--out", dir)
		out, err := cmd.CombinedOutput()
		switch code := exitCode(err); {
		case step == "before-commit" && (code != 1 || strings.Contains(string(out), "unfinished write")):
			t.Errorf("killed at %s: check exited %d, want 1 (drift), the old tree being whole:\n%s", step, code, out)
		case step != "before-commit" && (code != 2 || !strings.Contains(string(out), "holds an unfinished write")):
			t.Errorf("killed at %s: check exited %d, want 2 naming the unfinished write:\n%s", step, code, out)
		}
		if diff := cmp.Diff(onDisk, snapshot(t, dir)); diff != "" {
			t.Errorf("killed at %s: check changed the tree:\n%s", step, diff)
		}
		// Recovery, which generate runs first under its lock, completes a committed write and discards the rest.
		if err := tree.Recover(dir); err != nil {
			t.Fatalf("killed at %s: recover: %v", step, err)
		}
		after := snapshot(t, dir)
		if want := map[bool]map[string]string{true: newTree, false: oldTree}[step != "before-commit"]; !cmp.Equal(want, after) {
			t.Errorf("killed at %s: after recovery the tree is neither old nor new as it should be:\n%s", step, cmp.Diff(want, after))
		}
		if _, err := os.Stat(filepath.Join(dir, ".kronform-gen", "txn")); err == nil {
			t.Errorf("killed at %s: the transaction folder survived recovery", step)
		}
	}
	// And generate, killed mid-write, finishes on its next run.
	dir := filepath.Join(work, "rerun")
	copyTree(t, filepath.Join(work, "old"), dir)
	if killAt(t, dir, newSpec, "put:2") {
		if got := generateInto(t, dir, newSpec); !cmp.Equal(newTree, got) {
			t.Errorf("generate after a kill:\n%s", cmp.Diff(newTree, got))
		}
	}
	if killed < 5 {
		t.Fatalf("only %d kills landed inside the write; the test does not exercise it", killed)
	}
}

func generateInto(t *testing.T, dir, specFile string) map[string]string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "generate", "-f", specFile, "--out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate %s: %v\n%s", specFile, err, out)
	}
	return snapshot(t, dir)
}

// killAt runs generate with the hang hook at step and SIGKILLs it once it is there. It reports false when the write
// finished without reaching that step.
func killAt(t *testing.T, dir, specFile, step string) bool {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "generate", "-f", specFile, "--out", dir)
	cmd.Env = append(os.Environ(), "KRONFORM_GEN_TEST_HANG_AT="+step)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reached := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "test hang at "+step) {
			reached = true
			cmd.Process.Kill()
			break
		}
	}
	for sc.Scan() {
	}
	cmd.Wait()
	return reached
}

// snapshot reads every file of a tree except the transaction's staging area.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == filepath.Join(".kronform-gen", "txn") {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	for p, c := range snapshot(t, from) {
		target := filepath.Join(to, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(target), 0o755)
		if err := os.WriteFile(target, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// exitCode is a finished command's exit status (0 when err is nil).
func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// A committed write that cannot be completed (killed at put:3, then a folder made where one of its files goes) is
// undone by whoever finds it. Killed at every step of that undo, the next recovery still undoes it whole: the old tree
// comes back exactly, with no transaction left, and generate then writes the new tree once the folder is gone.
func TestKillMidUndoLeavesTheOldTree(t *testing.T) {
	root := repoRoot(t)
	example, err := os.ReadFile(filepath.Join(root, "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "examples"), os.DirFS(filepath.Join(root, "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(work, "examples", "demo.agekey"))
	oldSpec, newSpec := filepath.Join(work, "old.yaml"), filepath.Join(work, "new.yaml")
	os.WriteFile(oldSpec, example, 0o644)
	changed := strings.Replace(string(example), "version: 1.13.4", "version: 1.16.5", 1)
	changed = strings.Replace(changed, "preset: talos-control-plane", "nodes: {role: control-plane}\n        ingress: [{entities: [world], ports: [6443/tcp]}]", 1)
	// The new policy's file sorts after the kustomization.yaml beside it: puts 1 and 2 replace files, put 3 is new.
	changed = strings.Replace(changed, "name: host-fw-control-plane", "name: zz-only", 1)
	os.WriteFile(newSpec, []byte(changed), 0o644)
	oldTree := generateInto(t, filepath.Join(work, "old"), oldSpec)
	copyTree(t, filepath.Join(work, "old"), filepath.Join(work, "new"))
	newTree := generateInto(t, filepath.Join(work, "new"), newSpec)

	killed := 0
	for step := 1; ; step++ {
		dir := filepath.Join(work, fmt.Sprintf("undo-%d", step))
		copyTree(t, filepath.Join(work, "old"), dir)
		if !killAt(t, dir, newSpec, "put:3") {
			t.Fatal("the write has no third put")
		}
		obstacle := blockNextPut(t, dir)
		// Recovery (generate with the old spec) finds the write unfinishable and undoes it; killed at this step.
		if !killAt(t, dir, oldSpec, fmt.Sprintf("undo:%d", step)) {
			break
		}
		killed++
		if err := tree.Recover(dir); err == nil || !strings.Contains(err.Error(), "was undone") {
			t.Fatalf("killed at undo:%d: recover: %v", step, err)
		}
		if after := snapshot(t, dir); !cmp.Equal(oldTree, after) {
			t.Errorf("killed at undo:%d: after recovery the tree is not the old one:\n%s", step, cmp.Diff(oldTree, after))
		}
		if tree.Pending(dir) {
			t.Errorf("killed at undo:%d: the transaction survived", step)
		}
		os.Remove(obstacle)
		if got := generateInto(t, dir, newSpec); !cmp.Equal(newTree, got) {
			t.Errorf("killed at undo:%d: generate after it:\n%s", step, cmp.Diff(newTree, got))
		}
	}
	if killed < 3 {
		t.Fatalf("only %d kills landed inside the undo; the test does not exercise it", killed)
	}
}

// blockNextPut makes a folder where the committed journal in dir puts its next new file (not there before the write),
// so that the write cannot be completed, and returns it.
func blockNextPut(t *testing.T, dir string) string {
	t.Helper()
	txn := filepath.Join(dir, filepath.FromSlash(tree.TxnDir))
	data, err := os.ReadFile(filepath.Join(txn, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Put []struct{ Staged, Path string }
	}
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	for i, op := range j.Put {
		target := filepath.Join(dir, filepath.FromSlash(op.Path))
		if _, err := os.Stat(filepath.Join(txn, op.Staged)); err != nil {
			continue // already in place
		}
		if _, err := os.Lstat(target); err == nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(txn, "old", fmt.Sprint(i))); err == nil {
			continue // a file moved aside to be replaced: a folder there would stop the undo too
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		return target
	}
	t.Fatal("no put left to block")
	return ""
}

// crashWork is a folder with the example's demo secret sources and key, and specs made from the example by edit.
func crashWork(t *testing.T, edits ...func(string) string) (work string, specs []string) {
	t.Helper()
	root := repoRoot(t)
	example, err := os.ReadFile(filepath.Join(root, "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work = t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "examples"), os.DirFS(filepath.Join(root, "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(work, "examples", "demo.agekey"))
	for i, edit := range edits {
		name := filepath.Join(work, fmt.Sprintf("v%d.yaml", i+1))
		if err := os.WriteFile(name, []byte(edit(string(example))), 0o644); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, name)
	}
	return work, specs
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("the example has no " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// generateAgain runs generate (with env added to the test's environment, and the variables in unset removed) and
// returns its exit code and output.
func generateAgain(dir, specFile string, unset ...string) (int, string) {
	cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "generate", "-f", specFile, "--out", dir)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	return exitCode(err), string(out)
}

// generate finishes (or undoes) a write a kill left before it reads anything of the tree. Killed with the file the
// write replaces moved aside and the new one not yet in place, the tree lacks a secret file; a render that read it
// then found no file to keep and demanded every secret value again (exit 2), and check refused the tree, until
// someone holding every value ran generate.
func TestGenerateFinishesAKilledWriteBeforeReadingTheTree(t *testing.T) {
	token := replace("          robot-password: {file: examples/demo-secrets/robot-password}\n",
		"          robot-password: {file: examples/demo-secrets/robot-password}\n          token: {env: KG_TEST_TOKEN}\n")
	work, specs := crashWork(t, token, func(s string) string {
		s = token(s)
		s = replace("          token: {env: KG_TEST_TOKEN}\n", "          token: {env: KG_TEST_TOKEN}\n          extra: {env: KG_TEST_EXTRA}\n")(s)
		return replace("      auditMode: true\n", "      auditMode: true\n      values: {operator: {replicas: 2}}\n")(s)
	})
	t.Setenv("KG_TEST_TOKEN", "token")
	t.Setenv("KG_TEST_EXTRA", "extra")
	v1, v2 := specs[0], specs[1]
	dir := filepath.Join(work, "out")
	generateInto(t, dir, v1)
	// put:1 is the HelmRelease, put:2 the Secret, moved aside once the kill lands.
	if !killAt(t, dir, v2, "put:2") {
		t.Fatal("the write has no second put")
	}
	if _, err := os.Lstat(filepath.Join(dir, "infrastructure", "kronform", "secrets", "kube-system", "hcloud.yaml")); err == nil {
		t.Fatal("the secret file is in place: the kill did not land where the test needs it")
	}
	code, out := generateAgain(dir, v1, "KG_TEST_TOKEN", "KG_TEST_EXTRA")
	if code != 0 || !strings.Contains(out, "note: "+dir+": finished the write an earlier run left unfinished") {
		t.Fatalf("generate without the values after the kill: exit %d\n%s", code, out)
	}
	if tree.Pending(dir) {
		t.Error("the unfinished write is left")
	}
}

// A write killed after its commit is completed by the next generate only where the tree is as the write left it.
// Completing it over a file made (or replaced) since would move the user's file aside and throw it away with the
// staging area, where a fresh generate refuses to touch it: the write is undone instead, with a note, and the user's
// file is judged as any (a refusal, exit 2). The note is printed whatever the write that follows does.
func TestGenerateNeverFinishesAKilledWriteOverWhatChangedSince(t *testing.T) {
	storage := replace("        preset: talos-control-plane\n", "        preset: talos-control-plane\n"+
		"      - name: storage\n        nodes: {role: control-plane}\n        ingress: [{cidrs: [10.0.0.0/8], ports: [3260/tcp]}]\n")
	work, specs := crashWork(t, func(s string) string { return s }, storage)
	oldSpec, newSpec := specs[0], specs[1]
	const policy = "infrastructure/kronform/host-policies/storage.yaml"
	oldTree := generateInto(t, filepath.Join(work, "old"), oldSpec)
	copyTree(t, filepath.Join(work, "old"), filepath.Join(work, "new"))
	newTree := generateInto(t, filepath.Join(work, "new"), newSpec)

	for name, tc := range map[string]struct {
		from, spec string
		want       map[string]string // the tree the undo leaves, but for the user's change
		change     func(file string)
		refused    string
	}{
		// put:1 is the host policies' kustomization.yaml; the policy's own put comes next.
		"a file made where the write puts a new one": {"old", newSpec, oldTree,
			func(file string) { os.WriteFile(file, []byte("notes\n"), 0o644) },
			"refusing to overwrite files kronform-gen did not generate: [" + policy + "]"},
		"a file replaced that the write removes": {"new", oldSpec, newTree,
			func(file string) { os.WriteFile(file, []byte("mine\n"), 0o644) },
			"refusing to delete files the spec no longer generates whose contents kronform-gen did not write: [" + policy + "]"},
		"a folder made where the write puts a file": {"old", newSpec, oldTree,
			func(file string) { os.MkdirAll(filepath.Join(file, "inside"), 0o755) },
			"refusing to write files where folders stand: [" + policy + "]"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			copyTree(t, filepath.Join(work, tc.from), dir)
			if !killAt(t, dir, tc.spec, "put:1") {
				t.Fatal("the write has no put")
			}
			file := filepath.Join(dir, filepath.FromSlash(policy))
			tc.change(file)
			mine := snapshot(t, dir)[policy]
			code, out := generateAgain(dir, tc.spec)
			if code != 2 || !strings.Contains(out, "the unfinished write of an earlier run could not be completed ("+policy) ||
				!strings.Contains(out, "and was undone") || !strings.Contains(out, tc.refused) {
				t.Fatalf("exit %d, want 2 with a note that the write was undone, then the refusal:\n%s", code, out)
			}
			got := snapshot(t, dir)
			if got[policy] != mine {
				t.Fatalf("the user's %s is gone: %q", policy, got[policy])
			}
			want := maps.Clone(tc.want)
			delete(want, policy)
			delete(got, policy)
			if diff := cmp.Diff(want, got); diff != "" || tree.Pending(dir) {
				t.Errorf("not the tree before the killed write:\n%s", diff)
			}
		})
	}
}

// A reader that finds a generate mid-write (its journal committed, its lock held) says another kronform-gen is writing
// the tree, not that the staging folder was committed by mistake and may be removed from git: removing it now would
// take away what completes or undoes that write. Killed, the write is one a kill left, and said to be so.
func TestReadersTellAWriteInProgressFromOneAKillLeft(t *testing.T) {
	root := repoRoot(t)
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "examples"), os.DirFS(filepath.Join(root, "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(work, "examples", "demo.agekey"))
	example, err := os.ReadFile(filepath.Join(root, "cluster-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	oldSpec, newSpec := filepath.Join(work, "old.yaml"), filepath.Join(work, "new.yaml")
	os.WriteFile(oldSpec, example, 0o644)
	os.WriteFile(newSpec, []byte(strings.Replace(string(example), "version: 1.13.4", "version: 1.16.5", 1)), 0o644)
	dir := filepath.Join(work, "out")
	generateInto(t, dir, oldSpec)

	cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "generate", "-f", newSpec, "--out", dir)
	cmd.Env = append(os.Environ(), "KRONFORM_GEN_TEST_HANG_AT=put:1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "test hang at put:1") {
	}
	for _, command := range []string{"check", "validate"} {
		out, err := exec.Command(filepath.Join(binDir, "kronform-gen"), command, "-f", newSpec, "--out", dir).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "another kronform-gen is writing "+dir) ||
			strings.Contains(string(out), "remove it from git") {
			t.Errorf("%s during a write: exit %d, want 2 saying another kronform-gen is writing:\n%s", command, code, out)
		}
	}
	cmd.Process.Kill()
	for sc.Scan() {
	}
	cmd.Wait()
	out, err := exec.Command(filepath.Join(binDir, "kronform-gen"), "check", "-f", newSpec, "--out", dir).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "holds an unfinished write") {
		t.Errorf("check after the kill: exit %d\n%s", code, out)
	}
}
