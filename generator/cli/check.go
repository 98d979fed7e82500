package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/cache"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/generator/validate"
)

// checkReport is the shape of `check --output json`.
type checkReport struct {
	InSync           bool              `json:"inSync"`
	Spec             string            `json:"spec"`
	Out              string            `json:"out"`
	Files            []fileDrift       `json:"files"`
	PlaintextSecrets []plaintextSecret `json:"plaintextSecrets"`
	// Secrets are the secret files check could not verify in full (no key), or that need a key holder.
	Secrets []secrets.Note `json:"secrets"`
	// InvalidObjects counts objects on disk that the CRD schemas refuse (listed on stderr with --output json).
	InvalidObjects int `json:"invalidObjects"`
}

// fileDrift is one file that is not what the spec generates.
type fileDrift struct {
	Path string `json:"path"`
	// Change is missing (generated, absent), extra (owned, no longer generated), changed, or stray (not generated,
	// inside a folder kronform-gen generates whole).
	Change     string `json:"change"`
	HandEdited bool   `json:"handEdited"`
	// NotAFile marks a missing file whose path holds a symbolic link (or a pipe, a socket): never followed, and
	// left out of what Flux applies.
	NotAFile bool `json:"notAFile,omitempty"`
	// Executable marks a changed file that is executable on disk: git records the bit, generated files never have it.
	Executable bool `json:"executable,omitempty"`
	// Diff is a unified diff from the file on disk to the generated one, Secret values masked.
	Diff string `json:"diff,omitempty"`
}

type plaintextSecret struct {
	Path string `json:"path"`
	preview.PlaintextSecret
}

func (a *app) checkCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Fail when the tree on disk is not what the spec generates, or holds a plaintext Secret (the CI gate)",
		Long: `check renders the spec in memory and compares it with the tree on disk. It writes nothing and needs no
private key: without one (CI) an existing secret file is kept and checked as far as its readable parts allow (names,
type, keys, recipients); check says which values it could not verify, and fails when a secret changed in a way only a
key holder can write. With a key, secret values are verified too.

It reports, with a unified diff from disk to generated (Secret values masked as **SOPS** or *****):
  missing   a generated file that is not on disk, or not as a regular file (a symbolic link is never followed:
            Flux's source-controller leaves links out of what it applies)
  extra     a file kronform-gen generated that the spec no longer makes
  changed   a generated file whose contents differ; "(edited by hand)" when it is not what kronform-gen last wrote;
            "(executable)" when it is executable on disk (git records the bit; generated files are 0644)
  stray     a file kronform-gen did not generate inside a folder it generates whole (Flux would not apply it,
            or would apply it unexpectedly); delete or move it
and, anywhere in the tree (generated or not, any file name, .git excepted), every YAML or JSON document of kind
Secret holding a value that is not SOPS ciphertext.

Every object on disk is also validated against the CRD schemas (see validate).

--output json prints {"inSync", "spec", "out", "files": [{"path", "change", "handEdited", "notAFile", "diff"}],
"plaintextSecrets": [{"path", "document", "namespace", "name", "keys"}], "secrets": [{"path", "secret", "kind",
"detail"}], "invalidObjects"} (the invalid objects are listed on stderr). A check that fails before its report (a bad
spec, exit 2) prints {"error", "problems": [{"file", "line", "column", "path", "message", "hint"}]} instead.

` + exitCodesHelp,
		Example: `  kronform-gen check
  kronform-gen check --output json | jq '.files[].path'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runCheck(output) },
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// runCheck is check: it reads the tree and parses the spec at once, answers from a remembered clean verdict when the
// inputs are the same, and otherwise renders and compares while the tree-only checks run beside it.
func (a *app) runCheck(output string) error {
	if output != "text" && output != "json" {
		return fail(ExitUsage, "--output must be text or json, not %q", output)
	}
	if err := a.checkOut(false); err != nil {
		return err
	}
	// check writes nothing, so it does not finish a write that a kill interrupted (generate does, first): it refuses
	// to judge half a tree. In CI the staging folder can only have come from git, and applying it would let a pull
	// request rewrite the tree it is judged on (or write outside it).
	if tree.Pending(a.outDir) {
		return fail(ExitUsage, "%s holds an unfinished write (%s/%s): run kronform-gen generate to finish (or undo) it; check judges "+
			"only whole trees and writes nothing. In a fresh clone it was committed by mistake: remove it from git",
			a.outDir, a.outDir, tree.TxnDir)
	}
	// The tree is read once, while the spec parses; every check below, and the render's kept secret files,
	// read it from memory.
	type read struct {
		d   *tree.Disk
		err error
	}
	reading := make(chan read, 1)
	go func() {
		d, err := tree.ReadDisk(a.outDir)
		reading <- read{d, err}
	}()
	specData, err := a.readSpec()
	if err != nil {
		return err
	}
	type parsed struct {
		m   *spec.Model
		err error
	}
	parsing := make(chan parsed, 1)
	go func() {
		m, err := a.parseSpec(specData)
		parsing <- parsed{m, err}
	}()
	keys, err := a.identities()
	if err != nil {
		return err
	}
	disk := <-reading
	if disk.err != nil {
		return fail(ExitUsage, "reading %s: %v", a.outDir, disk.err)
	}
	// A clean verdict over the same inputs is remembered (see checkCacheName).
	var (
		key cache.Digest
		rec *checkRecorder
	)
	sources := secrets.Sources(a.sources())
	if !keys.Available() && a.templates == "" {
		key = a.checkKey(output, specData, disk.d)
		if a.replayCheck(key) {
			return nil
		}
		rec = a.record()
		sources = rec.sources
	}
	// What needs only the tree (plaintext Secrets, validation) runs beside the lints and the render.
	type treeChecks struct {
		plaintext []plaintextSecret
		invalid   []validate.Finding
		err       error
	}
	checking := make(chan treeChecks, 1)
	go func() {
		invalid, err := validate.OnDisk(disk.d)
		checking <- treeChecks{findPlaintextSecrets(disk.d), invalid, err}
	}()
	p := <-parsing
	if p.err != nil {
		return p.err
	}
	m, err := a.lint(p.m)
	if err != nil {
		return err
	}
	r, err := a.renderModel(m, disk.d, keys, sources)
	if err != nil {
		return err
	}
	a.printNotes(r)
	t := r.Tree
	tc := <-checking
	if tc.err != nil {
		return fail(ExitUsage, "validating %s: %v", a.outDir, tc.err)
	}
	rep, err := a.checkReport(disk.d, r, tc.plaintext)
	if err != nil {
		return err
	}
	stuck := r.Stuck()
	// With --output json, stdout holds the report alone (it counts them); the findings go to stderr.
	findingsTo := a.stdout
	if output == "json" {
		findingsTo = a.stderr
	}
	printFindings(findingsTo, tc.invalid, a.outDir)
	invalid := len(tc.invalid)
	rep.InvalidObjects = invalid
	rep.InSync = len(rep.Files) == 0 && len(rep.PlaintextSecrets) == 0 && len(stuck) == 0 && invalid == 0

	if output == "json" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s\n", b)
	} else {
		a.printCheck(rep)
	}
	if rep.InSync {
		if rec != nil {
			rec.store(key, t.Len())
		}
		fmt.Fprintf(a.stderr, "%s is in sync with %s (%d files)\n", a.outDir, a.specPath, t.Len())
		return nil
	}
	var why []string
	// A mistyped --out reads as a tree with every file missing: say so first.
	if _, err := os.Stat(a.outDir); errors.Is(err, fs.ErrNotExist) {
		why = append(why, fmt.Sprintf("%s does not exist (a mistyped --out, or generate never ran)", a.outDir))
	}
	strays := 0
	for _, f := range rep.Files {
		if f.Change == "stray" {
			strays++
		}
	}
	if n := len(rep.Files) - strays; n > 0 {
		why = append(why, fmt.Sprintf("%d file(s) differ from %s; run kronform-gen generate", n, a.specPath))
	}
	// generate leaves files it did not write alone, so it cannot mend these.
	if strays > 0 {
		why = append(why, fmt.Sprintf("%d stray file(s) in folders kronform-gen generates whole: delete or move them", strays))
	}
	if n := len(rep.PlaintextSecrets); n > 0 {
		why = append(why, fmt.Sprintf("%d plaintext Secret(s): encrypt them with sops or remove them", n))
	}
	if n := len(stuck); n > 0 {
		why = append(why, fmt.Sprintf("%d secret file(s) not as the spec says that only someone with the age key or the values can write (see the notes)", n))
	}
	if invalid > 0 {
		why = append(why, fmt.Sprintf("%d object(s) the API server would refuse", invalid))
	}
	fmt.Fprintf(a.stderr, "%s is not clean: %s\n", a.outDir, strings.Join(why, "; "))
	return silent(ExitFailure)
}

// checkReport compares the rendered tree with the tree on disk: missing, extra, changed and stray files with masked
// diffs, sorted by path; the plaintext Secrets found and the render's secret notes. InSync and InvalidObjects are the
// caller's.
func (a *app) checkReport(d *tree.Disk, r *render.Result, plaintext []plaintextSecret) (checkReport, error) {
	rep := checkReport{Spec: a.specPath, Out: a.outDir, Files: []fileDrift{}, PlaintextSecrets: plaintext, Secrets: r.Notes}
	changes, err := tree.Compare(d, r.Tree)
	if err != nil {
		return rep, fail(ExitUsage, "reading %s: %v", a.outDir, err)
	}
	for _, c := range changes {
		diff, err := fileDiff(c.Path, c.Have, c.Want, c.Kind != tree.Missing, c.Kind != tree.Extra, c.Executable)
		if err != nil {
			return rep, err
		}
		rep.Files = append(rep.Files, fileDrift{Path: c.Path, Change: string(c.Kind), HandEdited: c.HandEdited, NotAFile: c.NotAFile,
			Executable: c.Executable, Diff: diff})
	}
	for _, p := range strayFiles(d.Entries(), r.Tree) {
		rep.Files = append(rep.Files, fileDrift{Path: p, Change: "stray"})
	}
	slices.SortStableFunc(rep.Files, func(x, y fileDrift) int { return strings.Compare(x.Path, y.Path) })
	if rep.Secrets == nil {
		rep.Secrets = []secrets.Note{}
	}
	return rep, nil
}

func (a *app) printCheck(rep checkReport) {
	for _, f := range rep.Files {
		note := ""
		if f.HandEdited {
			note = " (edited by hand)"
		}
		if f.Change == "stray" {
			note = " (not generated, in a folder kronform-gen generates: delete or move it)"
		}
		if f.NotAFile {
			note = " (a symbolic link or other non-file stands there: never followed, and Flux leaves it out; run generate)"
		}
		if f.Executable {
			note += " (executable: git records the bit, and generated files are 0644; run generate)"
		}
		fmt.Fprintf(a.stdout, "%-8s %s%s\n", f.Change, f.Path, note)
		fmt.Fprint(a.stdout, f.Diff)
	}
	for _, s := range rep.PlaintextSecrets {
		fmt.Fprintf(a.stdout, "plaintext Secret %s (document %d, %s): %s\n", s.Path, s.Document,
			strings.TrimPrefix(s.Namespace+"/"+s.Name, "/"), strings.Join(s.Keys, ", "))
	}
}

// fileDiff is a unified diff from the file on disk to the generated one, both with Secret values masked; git's mode
// lines first when the file on disk is executable.
func fileDiff(p string, have, want []byte, onDisk, generated, executable bool) (string, error) {
	if executable {
		d := ""
		if !bytes.Equal(have, want) {
			var err error
			if d, err = fileDiff(p, have, want, onDisk, generated, false); err != nil {
				return "", err
			}
		}
		return "old mode 100755\nnew mode 100644\n" + d, nil
	}
	from, to := "a/"+p, "b/"+p
	if !onDisk {
		from = "/dev/null"
	}
	if !generated {
		to = "/dev/null"
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: preview.SplitLines(preview.MaskFile(have)), B: preview.SplitLines(preview.MaskFile(want)),
		FromFile: from, ToFile: to, Context: 3,
	})
	if err == nil && d == "" && onDisk && generated {
		d = "# only masked Secret values differ\n"
	}
	return d, err
}

// generatedFolders are the folders kronform-gen generates whole: those whose kustomization.yaml it generated (a
// Flux path it owns). Other folders, clusters/<cluster>/ above all, are shared.
func generatedFolders(t *tree.Tree) []string {
	var folders []string
	for _, p := range t.Paths() {
		if path.Base(p) == "kustomization.yaml" {
			folders = append(folders, path.Dir(p))
		}
	}
	return folders
}

// strayFiles lists the entries (Disk.Entries, tree.Entries) that kronform-gen did not generate inside the folders it
// generates whole.
func strayFiles(entries []string, t *tree.Tree) []string {
	folders := generatedFolders(t)
	var out []string
	for _, p := range entries {
		if _, generated := t.File(p); generated {
			continue
		}
		for _, f := range folders {
			if f == "." || strings.HasPrefix(p, f+"/") {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// findPlaintextSecrets scans every file of the tree for Secret documents (.git and the write staging area are not
// part of it).
func findPlaintextSecrets(d *tree.Disk) []plaintextSecret {
	out := []plaintextSecret{}
	for _, p := range d.Paths() {
		data, _ := d.File(p)
		found, err := preview.PlaintextSecrets(data)
		if err != nil {
			// A manifest that may hold a Secret but cannot be read as YAML cannot be cleared: report it. Any file can
			// be a kustomize resource (secret.txt, JSON), so every one is read; one of another kind that is not YAML
			// (a README) is no manifest Flux could apply.
			if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" || ext == ".json" {
				out = append(out, plaintextSecret{Path: p, PlaintextSecret: preview.PlaintextSecret{Keys: []string{"(not valid YAML)"}}})
			}
			continue
		}
		if preview.IsKustomizationFile(p) {
			generated, err := preview.GeneratorSecrets(p, data, d.File)
			if err != nil {
				continue // not a kustomization kustomize could read: the build says so
			}
			found = append(found, generated...)
		}
		for _, f := range found {
			out = append(out, plaintextSecret{Path: p, PlaintextSecret: f})
		}
	}
	return out
}
