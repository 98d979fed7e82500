package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/tree"
)

// diffReport is the shape of `diff --output json`.
type diffReport struct {
	Ref     string                 `json:"ref"`
	Summary diffSummary            `json:"summary"`
	Objects []preview.ObjectChange `json:"objects"`
	// Hetzner are the files under hetzner/ that differ: Robot templates, which Flux never applies.
	Hetzner []fileChange `json:"hetzner"`
	// HetznerMoved are the Robot templates whose files moved to another folder unchanged: nothing to carry to Robot.
	HetznerMoved []hetznerMove `json:"hetznerMoved,omitempty"`
}

// hetznerMove is a Robot template whose folder under hetzner/ changed (its cluster renamed) and whose name did not:
// Robot knows a template by its name, so it is the template Robot has, not one removed and one added.
type hetznerMove struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Template string `json:"template"`
}

type diffSummary struct {
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	// KeptInCluster counts the removed objects Flux leaves in the cluster (prune: false, deletionPolicy: Orphan, or
	// labelled or annotated kustomize.toolkit.fluxcd.io/prune: disabled).
	KeptInCluster int `json:"keptInCluster"`
	// Hetzner counts the changed files under hetzner/.
	Hetzner int `json:"hetzner"`
}

// fileChange is a file that differs between the ref and the working tree, with a unified diff.
type fileChange struct {
	Path   string             `json:"path"`
	Change preview.ChangeKind `json:"change"`
	// From is where a changed file stood at the ref when its Robot template moved to another folder.
	From string `json:"from,omitempty"`
	Diff string `json:"diff"`

	template string // the Robot template a moved file belongs to
}

// hetznerNote says what the changed Robot templates ask of the admin: a new or changed one is uploaded, and a removed
// one, which Robot and the servers keep (as generate says), is removed there.
func hetznerNote(uploads, removals int) string {
	var asks []string
	if uploads > 0 {
		asks = append(asks, "upload each changed Robot template to Robot and apply it to each server of its cluster")
	}
	if removals > 0 {
		asks = append(asks, "a removed Robot template stays in Robot, and on the servers it is applied to, until you remove it there")
	}
	return "Flux does not apply files under hetzner/: " + strings.Join(asks, "; ") + " (docs/firewall.md, \"The Hetzner escape hatch\")"
}

// hetznerSummary is the summary line's part for the changed Robot templates.
func hetznerSummary(uploads, removals int) string {
	switch {
	case uploads == 0:
		return fmt.Sprintf("; %d file(s) removed under hetzner/, which Flux does not apply: remove the template from Robot and its servers", removals)
	case removals == 0:
		return fmt.Sprintf("; %d file(s) changed under hetzner/, which Flux does not apply: upload to Robot", uploads)
	default:
		return fmt.Sprintf("; %d file(s) changed under hetzner/, which Flux does not apply: upload to Robot, and remove the "+
			"removed template from Robot and its servers", uploads+removals)
	}
}

func (a *app) diffCommand() *cobra.Command {
	var ref, output, fullOutput string
	var maxLines int
	cmd := &cobra.Command{
		Use:   "diff --ref REF",
		Short: "Show, object by object, what Flux would apply differently between a git ref and the working tree",
		Long: `diff builds every Flux Kustomization of the output tree twice, as 'build' does: once from the commit REF names
(read from git's object store: nothing is checked out and the working tree is not touched) and once from the working
tree. It prints the objects that were added, changed or removed, keyed cluster/Kind/namespace/name, each with a
unified diff of its YAML, then a summary line. Secret values are always masked; a change hidden by the mask is
named ("values changed (masked): data.password"), and SOPS ciphertext that changed is named apart ("values
re-encrypted"): sops encrypts anew with new IVs, so without the key nobody can tell whether the values changed. Files under hetzner/ (the Robot templates, which Flux never
applies) are compared as files and listed after the objects: upload a changed one to Robot. A removed object that
kustomize-controller leaves in the cluster (its Kustomization has prune: false, or is gone and kept what it applied:
prune: false with the default deletionPolicy, or deletionPolicy: Orphan; or the object is labelled or annotated
kustomize.toolkit.fluxcd.io/prune: disabled) is marked so, and the summary counts them.

Long unified diffs stop after --max-lines lines with a "... truncated" line; --full-output FILE writes the whole diff
there. The JSON report (--output json) is never truncated, and --full-output writes it to FILE as well.

Exit codes:
  0  no differences
  1  differences, or a side that does not build
  2  bad input or usage: not a git repository, an unknown ref, a reflog ref (main@{1}: pass its commit) or one
     naming no commit (main:output, main^{tree}), a bad flag value, an unwritable --full-output file, an output
     folder in neither the working tree nor REF, or one holding an unfinished write (run generate)`,
		Example: `  kronform-gen diff --ref main
  kronform-gen diff --ref origin/main --output json
  kronform-gen diff --ref HEAD~1 --max-lines 200 --full-output diff.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "unified" && output != "json" {
				return fail(ExitUsage, "--output must be unified or json, not %q", output)
			}
			if maxLines < 0 {
				return fail(ExitUsage, "--max-lines must be 0 (no limit) or more, not %d", maxLines)
			}
			if err := refusedRef(ref); err != nil {
				return err
			}
			if err := a.checkOut(false); err != nil {
				return err
			}
			if err := a.refusePending("diff"); err != nil {
				return err
			}
			repo, err := gitrepo.Open(a.outDir)
			if err != nil {
				return fail(ExitUsage, "%v", err)
			}
			files, err := repo.Files(ref)
			if err != nil {
				return fail(ExitUsage, "%v", err)
			}
			// A mistyped --out would otherwise compare nothing with nothing and pass.
			if _, err := os.Lstat(a.outDir); errors.Is(err, fs.ErrNotExist) && len(files) == 0 {
				hint := "give the output folder with --out"
				if here := a.bootstrappedHere(); here != "" {
					hint = here
				}
				return fail(ExitUsage, "%s exists neither in the working tree nor at %s (%s)", a.outDir, ref, hint)
			}
			oldSrc, err := preview.FromFiles(files)
			if err != nil {
				return fail(ExitFailure, "%s at %s: %v", a.outDir, ref, err)
			}
			// A working tree without the output folder builds nothing, as a ref without it does.
			newSrc, err := preview.FromDir(a.outDir)
			if errors.Is(err, fs.ErrNotExist) {
				newSrc, err = preview.FromFiles(nil)
			}
			if err != nil {
				return fail(ExitUsage, "reading %s: %v", a.outDir, err)
			}
			oldBuilds, newBuilds, err := a.buildBoth(oldSrc, newSrc, ref)
			if err != nil {
				return err
			}
			a.printShared(preview.SharedObjects(newBuilds, nil))
			changes, err := preview.Diff(oldBuilds, newBuilds, ref, "working tree")
			if err != nil {
				return fail(ExitFailure, "%v", err)
			}
			hetzner, moves, err := a.hetznerChanges(files, ref, liveClusters(oldSrc, newSrc))
			if err != nil {
				return err
			}
			added, changed, removed := preview.Summary(changes)
			kept := preview.Kept(changes)
			summary := fmt.Sprintf("%d added, %d changed, %d removed", added, changed, removed)
			if kept > 0 {
				summary += fmt.Sprintf(", %d of them left in the cluster by Flux", kept)
			}
			summary += fmt.Sprintf(" (%s -> working tree)", ref)
			removals := 0
			for _, c := range hetzner {
				if c.Change == preview.Removed {
					removals++
				}
			}
			if len(hetzner) > 0 {
				summary += hetznerSummary(len(hetzner)-removals, removals)
			}
			if output == "json" {
				if changes == nil {
					changes = []preview.ObjectChange{}
				}
				if hetzner == nil {
					hetzner = []fileChange{}
				}
				b, err := json.MarshalIndent(diffReport{Ref: ref, Summary: diffSummary{added, changed, removed, kept, len(hetzner)},
					Objects: changes, Hetzner: hetzner, HetznerMoved: moves}, "", "  ")
				if err != nil {
					return err
				}
				b = append(b, '\n')
				// The JSON report is never truncated; --full-output writes it to the file too, so a pipeline can
				// keep one form whichever output it prints.
				if fullOutput != "" {
					if err := os.WriteFile(fullOutput, preview.MaskPlaceholders(b), 0o644); err != nil {
						return fail(ExitUsage, "writing %s: %v", fullOutput, err)
					}
				}
				if _, err := a.stdout.Write(b); err != nil {
					return err
				}
			} else {
				var full bytes.Buffer
				mark := map[preview.ChangeKind]string{preview.Added: "+", preview.Changed: "~", preview.Removed: "-"}
				for _, c := range changes {
					what := string(c.Change)
					if c.KeptInCluster != "" {
						what += "; Flux leaves it in the cluster"
					}
					fmt.Fprintf(&full, "%s %s (%s)\n%s", mark[c.Change], c.Key, what, c.Diff)
				}
				for _, m := range moves {
					fmt.Fprintf(&full, "# %s/ moved to %s/: the same Robot template (%s), unchanged: nothing to upload or remove\n", m.From, m.To, m.Template)
				}
				if len(hetzner) > 0 {
					fmt.Fprintf(&full, "# %s\n", hetznerNote(len(hetzner)-removals, removals))
				}
				for _, c := range hetzner {
					ask := "upload to Robot"
					if c.Change == preview.Removed {
						ask = "remove it from Robot and its servers"
					}
					moved := ""
					if c.From != "" {
						moved = fmt.Sprintf("; moved from %s, the same Robot template (%s)", c.From, c.template)
					}
					fmt.Fprintf(&full, "%s %s (%s%s; not applied by Flux: %s)\n%s", mark[c.Change], c.Path, c.Change, moved, ask, c.Diff)
				}
				if fullOutput != "" {
					if err := os.WriteFile(fullOutput, preview.MaskPlaceholders(append(full.Bytes(), []byte(summary+"\n")...)), 0o644); err != nil {
						return fail(ExitUsage, "writing %s: %v", fullOutput, err)
					}
				}
				if err := writeTruncated(a, full.Bytes(), maxLines, fullOutput); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, summary)
			}
			if len(changes)+len(hetzner) > 0 {
				return silent(ExitFailure)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&ref, "ref", "", "the git ref to compare the working tree with (branch, tag, commit, HEAD~1...)")
	f.StringVarP(&output, "output", "o", "unified", "unified or json")
	f.IntVar(&maxLines, "max-lines", 2000, "print at most this many lines of the unified diff (0: no limit)")
	f.StringVar(&fullOutput, "full-output", "", "also write the whole diff (or the JSON report) to this file")
	_ = cmd.MarkFlagRequired("ref")
	return cmd
}

// refusedRef refuses what go-git's revision resolver reads otherwise than git. A reflog ref (main@{1},
// HEAD@{2.days.ago}, @{u}): go-git drops the @{...} part, so the diff would quietly be against the current commit. A
// ref naming no commit: go-git drops a :PATH part (main:output, a folder of main's tree in git) and a ^{tree} or
// ^{blob} peel, so the diff would quietly be against main, where git refuses; :/TEXT, git's search of commit
// messages, go-git resolves to nothing. No ref name holds a colon (git check-ref-format), nor does a hash.
func refusedRef(ref string) error {
	if strings.Contains(ref, "@{") {
		return fail(ExitUsage, "--ref %s: reflog and upstream refs (@{...}) are not supported; pass the commit instead: --ref \"$(git rev-parse '%s')\"", ref, ref)
	}
	if strings.HasPrefix(ref, ":/") {
		return fail(ExitUsage, "--ref %s: names no commit that go-git can find (:/TEXT searches commit messages); pass the commit instead: --ref \"$(git rev-parse '%s')\"", ref, ref)
	}
	// A search of the commit messages (main^{/fix: typo}) names a commit, colon or not.
	rev := ref
	if i := strings.Index(rev, "^{/"); i >= 0 { // what follows it, the resolver reads (see gitrepo's commitOf)
		rev = rev[:i]
	}
	if rev, _, ok := strings.Cut(rev, ":"); ok {
		if rev == "" { // :PATH, :0:PATH: a file of git's index
			return fail(ExitUsage, "--ref %s: names no commit but a path in git's index (:PATH); pass a commit, and diff reads its output folder itself", ref)
		}
		return fail(ExitUsage, "--ref %s: names no commit but a path in one (REV:PATH); pass the commit (%s), and diff reads its output folder itself", ref, rev)
	}
	if strings.Contains(ref, "^{tree}") || strings.Contains(ref, "^{blob}") {
		return fail(ExitUsage, "--ref %s: names no commit but a tree or a file (^{tree}, ^{blob}); pass the commit", ref)
	}
	return nil
}

// writeTruncated prints at most max lines of text, then says how much was left out and how to see it.
func writeTruncated(a *app, text []byte, max int, fullOutput string) error {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n, hidden := 0, 0
	for sc.Scan() {
		if max > 0 && n >= max {
			hidden++
			continue
		}
		fmt.Fprintln(a.stdout, sc.Text())
		n++
	}
	if hidden > 0 {
		if fullOutput != "" {
			fmt.Fprintf(a.stdout, "... truncated: %d more lines; the full diff is in %s\n", hidden, fullOutput)
		} else {
			fmt.Fprintf(a.stdout, "... truncated: %d more lines; rerun with --full-output FILE\n", hidden)
		}
	}
	return sc.Err()
}

// buildBoth builds both sides of a diff. A Kustomization suspended on one side only is built on both, as if resumed
// (with the Kustomizations its build declares), and noted: suspending one deletes nothing it applied, so built on
// the other side only all it holds showed as removed; yet what it holds is applied all the same, so it is compared
// rather than left out. flux bootstrap's Kustomization applies the revision that suspends it (it is not suspended
// when it reconciles it), one declared by another may reconcile that revision before its parent suspends it, and one
// resumed applies what it holds then. One that does not build as if resumed on the side it is suspended on (it was
// suspended as it was broken) is left out of that side, noted. Kustomizations Flux does not apply from either side
// are left out of both.
func (a *app) buildBoth(oldSrc, newSrc *preview.Source, ref string) ([]*preview.Build, []*preview.Build, error) {
	sides := [2]struct {
		src         *preview.Source
		label, name string
		ks          []preview.Kustomization
		res         *preview.Result
	}{{oldSrc, a.outDir + " at " + ref, "at " + ref, nil, nil}, {newSrc, a.outDir, "in the working tree", nil, nil}}
	for i := range sides {
		ks, err := sides[i].src.Kustomizations()
		if err != nil {
			return nil, nil, fail(ExitFailure, "%s: %v", sides[i].label, err)
		}
		sides[i].ks = ks
	}
	suspendedOn := map[string]int{} // the Kustomizations resumed, and the side they are suspended on
	broken := map[string]bool{}     // those of them that do not build as if resumed on that side
	for {
		for i := range sides {
			var resume, own []string // own: resumed on the side they are suspended on
			for id, j := range suspendedOn {
				switch {
				case j != i:
					resume = append(resume, id)
				case !broken[id]:
					own = append(own, id)
				}
			}
			slices.Sort(resume)
			slices.Sort(own)
			res, err := sides[i].src.Build(sides[i].ks, preview.Options{Resume: slices.Concat(resume, own)})
			if err != nil && len(own) > 0 {
				if again, e := sides[i].src.Build(sides[i].ks, preview.Options{Resume: resume}); e == nil {
					for _, id := range own {
						broken[id] = true
					}
					res, err = again, nil
				}
			}
			if err != nil {
				a.printDiffNotes(sides[i].label, res)
				return nil, nil, fail(ExitFailure, "%s does not build:\n%s", sides[i].label, strings.TrimSpace(buildFailed(err).Error()))
			}
			sides[i].res = res
		}
		more := false
		for i, side := range sides {
			for _, s := range side.res.Skipped {
				if _, seen := suspendedOn[s.ID()]; !seen && s.Spec.Suspend && slices.ContainsFunc(sides[1-i].res.Kustomizations, func(k preview.Kustomization) bool {
					return k.ID() == s.ID() && !k.Spec.Suspend
				}) {
					suspendedOn[s.ID()], more = i, true
				}
			}
		}
		if more {
			continue
		}
		for i, side := range sides {
			a.printDiffNotes(side.label, side.res)
			for _, id := range slices.Sorted(maps.Keys(suspendedOn)) {
				switch {
				case suspendedOn[id] != i:
				case !broken[id] && !slices.ContainsFunc(side.res.Builds, func(b *preview.Build) bool { return b.ID() == id }):
					// Skipped for another reason too (another source), and noted so.
				case broken[id]:
					fmt.Fprintf(a.stderr, "note: %s: %s: suspended %s only, and does not build there as if resumed: left "+
						"out of this side, as Flux applies nothing from it there\n", side.label, id, side.name)
				default:
					fmt.Fprintf(a.stderr, "note: %s: %s: suspended %s only: built on both sides all the same, as Flux "+
						"applies what it holds (flux bootstrap's own Kustomization applies the revision that suspends it; one "+
						"resumed applies what it holds then)\n", side.label, id, side.name)
				}
			}
		}
		return sides[0].res.Builds, sides[1].res.Builds, nil
	}
}

// printDiffNotes prints, for one side of a diff, the Kustomizations its build skipped, and its builds' notes.
func (a *app) printDiffNotes(label string, res *preview.Result) {
	a.printSkipped(label+": ", res.Skipped)
	for _, b := range res.Builds {
		for _, n := range b.Notes {
			fmt.Fprintf(a.stderr, "note: %s: %s: %s\n", label, b.ID(), n)
		}
	}
}

// hetznerChanges compares the files under hetzner/ at the ref (files) with the working tree's, sorted by path. They
// are outside every Flux path, so no build sees them, but a change is one the admin must carry to Robot. A Robot
// template name held in another folder than at the ref, by the same live cluster (renamed, its template name kept;
// see movedTemplates), is that template moved: its files are compared with their old selves, and when none changed it
// is listed in moves, with nothing to carry to Robot. A file can be listed twice: a folder holding a template moved in
// also lists the one it held, when that is no longer generated.
func (a *app) hetznerChanges(files map[string][]byte, ref string, same sameCluster) ([]fileChange, []hetznerMove, error) {
	old := map[string][]byte{}
	for p, b := range files {
		if strings.HasPrefix(p, render.HetznerRoot+"/") {
			old[p] = b
		}
	}
	entries, err := tree.Entries(a.outDir, []string{render.HetznerRoot})
	if err != nil {
		return nil, nil, fail(ExitUsage, "reading %s: %v", a.outDir, err)
	}
	now := map[string][]byte{}
	disk := tree.Files(a.outDir)
	for _, p := range entries {
		// Links and other non-files are left out, as git and Flux leave them.
		if b, err := fs.ReadFile(disk, p); err == nil {
			now[p] = b
		}
	}
	paths := map[string]bool{}
	for p := range old {
		paths[p] = true
	}
	for p := range now {
		paths[p] = true
	}
	moved, moves := movedTemplates(old, now, same)
	away := map[string]bool{} // the folders whose template at the ref moved to another
	for _, was := range moved {
		away[was] = true
	}
	var out []fileChange
	add := func(c fileChange, before, after []byte) error {
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: preview.SplitLines(before), B: preview.SplitLines(after), FromFile: ref, ToFile: "working tree", Context: 3,
		})
		c.Diff = d
		out = append(out, c)
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		dir, base := path.Dir(p), path.Base(p)
		before, inOld := old[p]
		after, inNew := now[p]
		// Only the template's own files move with it; anything else kept in its folder is compared where it is.
		tpl := base == render.HetznerFormFile || base == render.HetznerJSONFile
		was, in := moved[dir]
		in = in && tpl
		gone := away[dir] && tpl
		if inNew {
			c := fileChange{Path: p, Change: preview.Changed}
			switch {
			case in:
				// A template moved in: compared with its old self.
				c.From, c.template = path.Join(was, base), templateName(now, dir)
				if b, ok := old[c.From]; !ok || !bytes.Equal(b, after) {
					if err := add(c, b, after); err != nil {
						return nil, nil, err
					}
				}
			case !inOld || gone:
				// A new file, or a new template where the one at the ref moved away.
				c.Change = preview.Added
				if err := add(c, nil, after); err != nil {
					return nil, nil, err
				}
			case !bytes.Equal(before, after):
				if err := add(c, before, after); err != nil {
					return nil, nil, err
				}
			}
		}
		// The file at the ref is gone, or its folder now holds a template moved in: unless its own template moved, it
		// is no longer generated.
		if inOld && !gone && (!inNew || in) {
			if err := add(fileChange{Path: p, Change: preview.Removed}, before, nil); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, moves, nil
}

// templateName is the Robot template name the folder's form holds in files, "" when none.
func templateName(files map[string][]byte, dir string) string {
	return render.HetznerTemplateName(files[path.Join(dir, render.HetznerFormFile)])
}

// movedTemplates pairs, by Robot template name, the folders under hetzner/ whose template at the ref is in another
// folder in the working tree, when both are one live cluster's (same): a cluster renamed, its template name kept,
// whether or not another cluster took its old name (two clusters swapping names swap folders). moved maps each new
// folder to its old one; moves are the pairs whose files are all unchanged.
func movedTemplates(old, now map[string][]byte, same sameCluster) (moved map[string]string, moves []hetznerMove) {
	folders := func(files map[string][]byte) map[string]string { // folder -> template name
		out := map[string]string{}
		for p := range files {
			if path.Base(p) == render.HetznerFormFile {
				out[path.Dir(p)] = render.HetznerTemplateName(files[p])
			}
		}
		return out
	}
	moved = templateMoves(folders(old), folders(now), same)
	for _, dir := range slices.Sorted(maps.Keys(moved)) {
		was := moved[dir]
		unchanged := true
		for _, files := range []map[string][]byte{old, now} {
			for p := range files {
				d, base := path.Split(p)
				if d != was+"/" && d != dir+"/" || base != render.HetznerFormFile && base != render.HetznerJSONFile {
					continue
				}
				before, inOld := old[path.Join(was, base)]
				after, inNew := now[path.Join(dir, base)]
				unchanged = unchanged && inOld && inNew && bytes.Equal(before, after)
			}
		}
		if unchanged {
			moves = append(moves, hetznerMove{From: was, To: dir, Template: templateName(now, dir)})
		}
	}
	return moved, moves
}

// templateMoves pairs the folders of two trees by the Robot template name each holds (before and after: folder ->
// name): a name in another folder than before, both folders one live cluster's (same), is that template moved. It
// maps each new folder to its old one.
func templateMoves(before, after map[string]string, same sameCluster) map[string]string {
	where := map[string]string{} // template name -> its folder before
	for _, dir := range slices.Sorted(maps.Keys(before)) {
		if name := before[dir]; name != "" && where[name] == "" {
			where[name] = dir
		}
	}
	out := map[string]string{}
	for _, dir := range slices.Sorted(maps.Keys(after)) {
		name := after[dir]
		if was := where[name]; name != "" && was != "" && was != dir && same(path.Base(was), path.Base(dir)) {
			out[dir] = was
		}
	}
	return out
}

// sameCluster says whether the cluster named before in the old tree and the one named after in the new are one live
// cluster, whose servers a Robot template is applied to.
type sameCluster func(before, after string) bool

// liveClusters is sameCluster for two trees: a cluster is the live one that Flux applies its infrastructure/<name>/
// folders from, and that is the folder under clusters/ its Kustomizations are in (flux bootstrap --path), which a
// cluster renamed as the README says keeps. A Robot template name that another cluster takes over (a new one, whose
// servers have no template yet) is no move of the template: the same name on other servers is one to upload and apply.
// The trees' Kustomizations are read at the first question only.
func liveClusters(before, after *preview.Source) sameCluster {
	var folders [2]map[string]string
	return func(was, is string) bool {
		if folders[0] == nil {
			folders = [2]map[string]string{clusterFolders(before), clusterFolders(after)}
		}
		f := folders[0][was]
		return f != "" && f == folders[1][is]
	}
}

// clusterFolders maps each cluster's name to the folder under clusters/ whose Flux Kustomizations apply its
// infrastructure/<name>/ folders; none when the tree's Kustomizations cannot be read (then no template is taken as
// moved, and a moved one shows as removed and added, which asks more of the admin, never less).
func clusterFolders(src *preview.Source) map[string]string {
	out := map[string]string{}
	ks, err := src.Kustomizations()
	if err != nil {
		return out
	}
	for _, k := range ks {
		rest, ok := strings.CutPrefix(k.Path, flux.ContentRoot+"/")
		if name, _, _ := strings.Cut(rest, "/"); ok && name != "" && out[name] == "" {
			out[name] = k.Cluster
		}
	}
	return out
}
