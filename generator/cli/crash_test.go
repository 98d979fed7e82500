package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kronform/kronform-gen/generator/tree"
)

// TestKillMidWriteLeavesOldOrNewTree kills the real binary (SIGKILL) at every step of a write — before its commit
// point, after each file moved into place, after each stale file removed — and checks the promise: before the commit
// the old tree is on disk untouched; after it, recovery (generate's first step) completes the write; either way no mix
// survives, and check, which writes nothing, refuses to judge a half-written tree rather than finishing it.
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
		// check writes nothing: it refuses to judge the half-written tree and leaves it as it is.
		cmd := exec.Command(filepath.Join(binDir, "kronform-gen"), "check", "-f", newSpec, "--out", dir)
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "holds an unfinished write") {
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
