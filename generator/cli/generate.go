package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

func (a *app) generateCommand() *cobra.Command {
	var doCommit bool
	var msg string
	var allowPrune []string
	cmd := &cobra.Command{
		Use:         "generate",
		Annotations: map[string]string{writesAnnotation: "yes"},
		Short:       "Write the Flux tree the spec describes",
		Long: `generate renders the spec and writes the tree in one transaction: unchanged files are left alone, stale files
kronform-gen generated are removed, and nothing else (flux-system, your own files) is touched. When the spec is
invalid nothing is written. Nothing is written either when a cluster has audit mode off and a reachability
assertion fails (see verify): that tree could lock you out, or leave open what should be denied.

Flux applies a change in two steps: the cilium Kustomization (the HelmRelease), then host-policies, which waits for
it; the agents take new values only when they restart, which the chart does only for a new chart version (not v1.16.0
for 1.16.0, nor a range that may admit the release installed) or with rollOutCiliumPods: true. When one change brings
new Cilium settings and new host policies, generate also checks the states in between that enforce: the new settings
with the host policies Flux applies now, and, while the agents lag, the old settings with the new policies. What Flux
applies now is read from the branch Flux follows (the GitRepository in clusters/<cluster>/flux-system, on its remote,
or the tag it follows; else the current branch's upstream; else HEAD; the folder on disk outside git), so commits not
pushed count as part of the change. If a state fails a check that expects a flow allowed (or exposes what holds
denied now), nothing is written, and the refusal says which state fails and which order of steps works.

The agents read Cilium's values (cilium-config) only when they start: when values they read change, generate prints
the restart to run once Flux has applied them (audit mode included); the operator's, Hubble Relay's and UI's need none.
On a bootstrapped cluster where Flux applies no Cilium release of kronform-gen's yet, a HelmRelease of yours that the
cluster's Flux Kustomizations apply under its name (cilium.namespace/cilium) is the release before the change: its
chart version and values are read from a build of those Kustomizations, as build does: spec.values, over the ConfigMaps
of its valuesFrom that the Kustomization applying it applies with it, merged as helm-controller merges them. One that
cannot be read (a chart by digest, a version kronform-gen does not model, a Kustomization that does not build here, or
is built from another source, so that Flux may apply one or none), or whose settings the checks read are left to a
valuesFrom not read here (a Secret, a targetPath, which is set over spec.values too, a ConfigMap from elsewhere) or
substituted from a Secret, leaves the agents' settings unknown: new host policies in the same change are refused, as
for a release of kronform-gen's that cannot be read, unless rollOutCiliumPods: true has the chart restart the agents
in step 1.

A cluster folder holding flux bootstrap's files (clusters/<cluster>/flux-system) is applied by Flux on a live
cluster with prune: true. generate refuses (exit 2, nothing written) to write Kustomizations there whose source is
not the GitRepository bootstrap made (flux.namespace, flux.gitRepository), and to remove the Kustomizations it wrote
there when the spec no longer generates that folder (a cluster removed or renamed, or its flux.path changed): Flux
would delete Cilium (the CNI), the host policies and the Secrets; and to move the Cilium HelmRelease Flux applies
there to another namespace (cilium.namespace): Flux would prune the old one, and helm-controller uninstall Cilium
with it; and to take over a Cilium HelmRelease of yours that manages another Helm release (its releaseName,
targetNamespace, storageNamespace or chart): helm-controller would uninstall it before it installs kronform-gen's
(--allow-prune=CLUSTER lets it). It reads the files, not the cluster: it lets the
removal through when the folder's flux-system is gone (Flux uninstalled from the cluster), when its Kustomization
says suspend: true or prune: false (live on the cluster before the change lands: Flux prunes by the settings it had
before; when the branch Flux follows does not hold it yet, a warning says so), or with --allow-prune=CLUSTER, on
purpose.

--commit then commits exactly the files kronform-gen owns (removals included) with go-git, as the author and
committer git would use, leaving out those git ignores and does not track. It refuses, before writing anything, when
other changes are staged, commit.gpgsign asks for a signature, -m is empty, or while git is in the middle of a merge,
rebase, cherry-pick or revert, the index has unmerged paths, or another git process holds it (index.lock). -m
without --commit is refused too.

` + exitCodesHelp,
		Example: `  kronform-gen generate
  kronform-gen generate --spec clusters.yaml --out ../fleet-repo
  kronform-gen generate --commit -m "cilium: 1.16"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOut(false); err != nil {
				return err
			}
			if here := a.bootstrappedHere(); here != "" {
				// Written there, the tree would be one Flux never reads, beside the one it does.
				return fail(ExitUsage, "%s does not exist, and %s (generate would write a new tree into %s, which that "+
					"bootstrap does not apply; to write it there all the same, create the folder first); nothing was written",
					a.outDir, here, a.outDir)
			}
			// -m alone would write the tree and commit nothing, when its giver asked for a commit.
			if !doCommit && cmd.Flags().Changed("message") {
				return fail(ExitUsage, "-m is the commit message of --commit: give --commit too, or leave -m out. "+
					"Nothing was written.")
			}
			// git refuses an empty message; an explicit -m "" must not fall back to the default either.
			if doCommit && cmd.Flags().Changed("message") && strings.TrimSpace(msg) == "" {
				return fail(ExitUsage, "-m: the commit message is empty; give one, or leave -m out for the default. "+
					"Nothing was written.")
			}
			w, err := a.openTree()
			if err != nil {
				return err
			}
			defer w.Close()
			m, r, err := a.render()
			if err != nil {
				return err
			}
			if err := a.auditGuard(m); err != nil {
				return err
			}
			bases, err := a.baselines(m)
			if err != nil {
				return err
			}
			steps, err := a.transitions(m, r.Tree, bases)
			if err != nil {
				return err
			}
			if err := a.transitionGuard(m, steps); err != nil {
				return err
			}
			a.printNotes(r)
			if n := len(r.Stuck()); n > 0 {
				return fail(ExitUsage, "%d secret file(s) cannot be written by this run (see the notes above); nothing was written", n)
			}
			t := r.Tree
			if err := a.refuseInvalid(t); err != nil {
				return err
			}
			var pending *pendingCommit
			if doCommit {
				if pending, err = a.prepareCommit(t, msg); err != nil {
					return err
				}
			}
			boot, err := a.diskBootstraps(m.RepositoryPath)
			if err != nil {
				return err
			}
			if problems, err := sourceProblems(m, t, boot); err != nil {
				return fail(ExitFailure, "%v", err)
			} else if len(problems) > 0 {
				return problems
			}
			allowed := pruneFolders(allowPrune)
			problems, moved := a.releaseMoves(m, steps, boot, allowed)
			if len(problems) > 0 {
				return problems
			}
			if err := a.pruneGuard(m, t, boot, allowed, moved); err != nil {
				return err
			}
			formerForms := a.robotForms()
			sameLive := a.formerLiveClusters(m, t, formerForms)
			res, err := w.Write(t, func(_ string, b []byte) bool { return manifest.Owned(b) })
			var conflict *tree.ConflictError
			var unwritable *tree.UnwritableError
			switch {
			case errors.As(err, &conflict):
				if slices.Contains(conflict.Paths, secrets.ConfigFile) {
					// Moved away or deleted as the refusal says, a user's own .sops.yaml takes its rules with it:
					// sops then finds kronform-gen's, which match none of the user's files ("no matching creation
					// rules found").
					return fail(ExitUsage, "%s: %v; %s is not kronform-gen's: generate writes its own there, whose creation "+
						"rules match only the secret files it generates, so sops would find no rule for the files yours "+
						"encrypts. Keep your rules in a .sops.yaml beside those files (sops reads the nearest one above "+
						"the folder it runs in: %s in apps/ when you run sops there) or in a file you give sops with "+
						"--config, then move %s away; nothing was written", a.outDir, err, secrets.ConfigFile,
						secrets.ConfigFile, secrets.ConfigFile)
				}
				return fail(ExitUsage, "%s: %v", a.outDir, err)
			case errors.As(err, &unwritable):
				// Found before anything was written: names the spec makes that this file system cannot hold, or an
				// --out that cannot be written.
				return fail(ExitUsage, "%s: %v; nothing was written", a.outDir, err)
			case err != nil:
				return fail(ExitFailure, "writing %s: %v", a.outDir, err)
			}
			if !res.Changed() {
				fmt.Fprintf(a.stderr, "%s is up to date (%d files)\n", a.outDir, t.Len())
			}
			for _, p := range res.Written {
				fmt.Fprintf(a.stderr, "wrote   %s\n", p)
			}
			for _, p := range res.Removed {
				fmt.Fprintf(a.stderr, "removed %s\n", p)
			}
			a.noteHetzner(res, t, formerForms, sameLive)
			// generate leaves files it did not write alone, but check fails on those in a folder it generates whole,
			// and on files that look generated anywhere.
			entries, err := tree.Entries(a.outDir, []string{"."})
			if err == nil {
				strays, leftovers := unownedFiles(entries, ownedOn(tree.Files(a.outDir)), t, func(string) bool { return false })
				for _, p := range strays {
					fmt.Fprintf(a.stderr, "note: stray %s (not generated, in a folder kronform-gen generates whole: the kustomization.yaml there does not list it, so Flux does not apply it, and check fails on it; delete or move it)\n", p)
				}
				for _, p := range leftovers {
					fmt.Fprintf(a.stderr, "note: leftover %s (%s)\n", p, leftoverNote)
				}
				a.warnPlaintext(entries, t)
			}
			a.warnShared(t, entries, nil)
			a.printTakeovers(m, steps, boot)
			a.printRestartNotes(m, steps)
			a.printMinorSkips(m, steps)
			a.warnValueFiles(m)
			if pending != nil {
				return a.commit(pending)
			}
			a.warnIgnored(t)
			return nil
		},
	}
	cmd.Flags().BoolVar(&doCommit, "commit", false, "commit the owned files with go-git after a successful generate")
	cmd.Flags().StringVarP(&msg, "message", "m", "", "the commit message of --commit (default \"kronform-gen: regenerate from SPEC\")")
	cmd.Flags().StringSliceVar(&allowPrune, "allow-prune", nil, "let Flux on these bootstrapped clusters (folders under "+
		"clusters/) delete everything kronform-gen's Kustomizations applied there, when the spec no longer generates them, "+
		"or the Cilium HelmRelease, when cilium.namespace moves it; or let helm-controller reinstall Cilium, when "+
		"kronform-gen's release takes over a HelmRelease of yours that manages another Helm release")
	return cmd
}

// warnPlaintext names the plaintext Secrets that lie in the folders generate writes (a Secret added by hand, a
// decrypted copy left beside its encrypted file): check fails on them, and generate must not let the run that comes
// before a commit say all is well. Path, Secret and key names only, never a value; the exit code stays: generate
// wrote what the spec says. Only those folders are scanned (files that cannot hold a Secret are not even parsed):
// check scans the rest of the tree, flux bootstrap's own folders with their large manifests included. entries are
// the tree's entries on disk, after the write.
func (a *app) warnPlaintext(entries []string, t *tree.Tree) {
	written := map[string]bool{}
	for _, p := range t.Paths() {
		written[path.Dir(p)] = true
	}
	whole := generatedFolders(t)
	inScope := func(p string) bool {
		if written[path.Dir(p)] {
			return true
		}
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if whole[dir] {
				return true
			}
		}
		return false
	}
	for _, s := range preview.FindPlaintextSecrets(diskFiles{tree.Files(a.outDir), func() []string { return entries }}, inScope) {
		fmt.Fprintf(a.stderr, "warning: %s (check fails on it: encrypt it with sops, or delete it; never commit it)\n", plaintextLine(s))
	}
}

// warnIgnored names the files of the tree that git ignores and does not track: git add leaves them out, so a clone
// (check in CI, Flux) lacks them, while check on this working tree passes. A .gitignore line written for plaintext
// value files (secrets/) ignores the tree's secrets folders too. Outside a git work tree, or when git cannot be read,
// it says nothing: this is advice, not part of the write. (generate --commit says it of the files it leaves out.)
func (a *app) warnIgnored(t *tree.Tree) {
	repo, err := gitrepo.Open(a.outDir)
	if err != nil {
		return
	}
	ignored, err := repo.IgnoredUntracked(append(t.Paths(), tree.OwnedFile, tree.StateDir+"/.gitignore"))
	if err != nil || len(ignored) == 0 {
		return
	}
	fmt.Fprintf(a.stderr, "warning: git ignores %d file(s) kronform-gen wrote, and does not track them: %s; git add leaves "+
		"them out, so a clone (check in CI, Flux) will not have them: change the .gitignore rule that matches them "+
		"(or git add -f them)\n", len(ignored), strings.Join(ignored, ", "))
}

// warnValueFiles names the secret value files of the spec that git tracks, or that git add -A would commit: they hold
// values in the clear, and belong outside the repository or ignored by git. Each file is asked of the repository that
// holds it, the innermost: a value file in a repository of its own inside the spec's (a clone or a submodule of
// private files) is no file git add -A takes in the spec's. Names only, never contents; outside a git work tree, or
// when git cannot be read, it says nothing.
func (a *app) warnValueFiles(m *spec.Model) {
	dir := filepath.Dir(a.specPath)
	named := map[string]string{} // path on disk -> the source as the spec names it
	for _, c := range m.Clusters {
		for _, s := range c.Secrets {
			for _, src := range s.Data {
				if src.File != "" {
					named[filepath.Join(dir, filepath.FromSlash(src.File))] = src.File
				}
			}
		}
	}
	repos := map[string]*gitrepo.Repo{} // by work tree root
	held := map[string][]string{}       // work tree root -> the value files it holds
	for _, f := range slices.Sorted(maps.Keys(named)) {
		repo, err := gitrepo.Open(filepath.Dir(f))
		if err != nil {
			continue
		}
		repos[repo.Root()] = repo
		held[repo.Root()] = append(held[repo.Root()], f)
	}
	var tracked, addable []string
	for _, root := range slices.Sorted(maps.Keys(repos)) {
		inIndex, untracked, err := repos[root].Committable(held[root])
		if err != nil {
			continue
		}
		tracked, addable = append(tracked, inIndex...), append(addable, untracked...)
	}
	slices.Sort(tracked)
	slices.Sort(addable)
	for _, f := range tracked {
		fmt.Fprintf(a.stderr, "warning: secret value file %s is tracked by git: its value is in the clear in the "+
			"repository's history; change the value where it is used, git rm --cached the file and ignore it\n", named[f])
	}
	for _, f := range addable {
		fmt.Fprintf(a.stderr, "warning: secret value file %s is in the git work tree and not ignored: git add -A would "+
			"commit its value in the clear; add it to .gitignore, or move it out of the repository\n", named[f])
	}
}

// robotForms are the Robot template forms on disk before the tree is written, by path, with their contents: those the
// write replaces, and those it removes.
func (a *app) robotForms() map[string][]byte {
	out := map[string][]byte{}
	entries, err := tree.Entries(a.outDir, []string{render.HetznerRoot})
	if err != nil {
		return out
	}
	disk := tree.Files(a.outDir)
	for _, p := range entries {
		if path.Base(p) != render.HetznerFormFile || path.Dir(path.Dir(p)) != render.HetznerRoot {
			continue
		}
		if b, err := fs.ReadFile(disk, p); err == nil {
			out[p] = b
		}
	}
	return out
}

// formerLiveClusters is sameCluster for the tree on disk before the write and the one the model generates (see
// liveClusters): a cluster now is the one Flux applies from its flux.path. The disk's Kustomizations are read before
// the write, and only when a Robot template's name is in another folder than before, the one case it decides.
func (a *app) formerLiveClusters(m *spec.Model, t *tree.Tree, former map[string][]byte) sameCluster {
	now := map[string]string{}   // cluster name -> its folder under clusters/
	names := map[string]string{} // Robot template name -> its folder under hetzner/ in the new tree
	for _, c := range m.Clusters {
		now[c.Name] = strings.TrimPrefix(c.Flux.Path, spec.ClustersDir+"/")
		if data, ok := t.File(path.Join(render.HetznerDir(c), render.HetznerFormFile)); ok {
			names[render.HetznerTemplateName(data)] = render.HetznerDir(c)
		}
	}
	var before map[string]string
	for p, b := range former {
		if dir, ok := names[render.HetznerTemplateName(b)]; ok && dir != path.Dir(p) {
			before = a.diskClusterFolders()
			break
		}
	}
	return func(was, is string) bool {
		f := before[was]
		return f != "" && f == now[is]
	}
}

// diskClusterFolders is clusterFolders for the tree on disk, read from its clusters/ folder (and its ownership record,
// which says where its Kustomizations' paths start); none when it cannot be read.
func (a *app) diskClusterFolders() map[string]string {
	entries, err := tree.Entries(a.outDir, []string{spec.ClustersDir})
	if err != nil {
		return nil
	}
	disk := tree.Files(a.outDir)
	files := map[string][]byte{}
	for _, p := range append(entries, tree.OwnedFile) {
		if b, err := fs.ReadFile(disk, p); err == nil {
			files[p] = b
		}
	}
	src, err := preview.FromFiles(files)
	if err != nil {
		return nil
	}
	return clusterFolders(src)
}

// noteHetzner says which clusters' Robot templates the write changed: Flux never applies them, so until the admin
// uploads one it is not live, whatever verify and explain say about it. former are the forms on disk before. Robot
// knows a template by its name, so a template name in another folder than before (a cluster renamed, its template
// name kept; same says it is one live cluster) is that template moved: neither new nor to remove from Robot.
func (a *app) noteHetzner(res tree.Result, t *tree.Tree, former map[string][]byte, same sameCluster) {
	changed := map[string]bool{}
	for _, p := range append(slices.Clone(res.Written), res.Removed...) {
		if rest, ok := strings.CutPrefix(p, render.HetznerRoot+"/"); ok {
			if dir, _, ok := strings.Cut(rest, "/"); ok {
				changed[path.Join(render.HetznerRoot, dir)] = true
			}
		}
	}
	form := func(dir string) string { return path.Join(dir, render.HetznerFormFile) }
	before, after := map[string]string{}, map[string]string{} // folder -> the Robot template name its form holds
	for p, b := range former {
		before[path.Dir(p)] = render.HetznerTemplateName(b)
	}
	for dir := range changed {
		if data, ok := t.File(form(dir)); ok {
			after[dir] = render.HetznerTemplateName(data)
		}
	}
	moved := templateMoves(before, after, same) // new folder -> old one
	away := map[string]bool{}                   // the folders whose template moved to another
	for _, was := range moved {
		away[was] = true
	}
	for _, dir := range slices.Sorted(maps.Keys(changed)) {
		data, ok := t.File(form(dir))
		_, existed := former[form(dir)]
		from, in := moved[dir]
		switch {
		case in && bytes.Equal(former[form(from)], data):
			fmt.Fprintf(a.stderr, "note: the Robot firewall template %s moved from %s/ to %s/ unchanged: it is the template "+
				"Robot has, nothing to upload or remove\n", after[dir], from, dir)
		case ok:
			what, until := "in "+dir+"/ changed", "the servers keep the old one"
			switch {
			case in:
				what = fmt.Sprintf("%s (moved from %s/ to %s/) changed", after[dir], from, dir)
			case !existed || away[dir]:
				what, until = "in "+dir+"/ is new", "it filters nothing"
			}
			fmt.Fprintf(a.stderr, "note: the Robot firewall template %s, and Flux does not apply it: upload %s "+
				"to Robot and apply it to each server of the cluster (docs/firewall.md, \"The Hetzner escape hatch\"); until "+
				"then %s, whatever verify says\n", what, form(dir), until)
		}
		// The template the folder held is no longer generated, unless it moved: the folder went, or holds another
		// cluster's template moved in (two clusters that swap names swap folders).
		switch {
		case !existed || away[dir]:
		case !ok:
			fmt.Fprintf(a.stderr, "note: %s/ is no longer generated: its Robot template stays in Robot, and on the servers "+
				"it is applied to, until you remove it there\n", dir)
		case in:
			fmt.Fprintf(a.stderr, "note: the Robot firewall template %s that %s/ held is no longer generated: it stays in "+
				"Robot, and on the servers it is applied to, until you remove it there\n", before[dir], dir)
		}
	}
}
