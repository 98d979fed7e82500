package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/tree"
)

func (a *app) generateCommand() *cobra.Command {
	var doCommit bool
	var msg string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the Flux tree the spec describes",
		Long: `generate renders the spec and writes the tree in one transaction: unchanged files are left alone, stale files
kronform-gen generated are removed, and nothing else (flux-system, your own files) is touched. When the spec is
invalid nothing is written. Nothing is written either when a cluster has audit mode off and a reachability
assertion fails (see verify): that tree could lock you out, or leave open what should be denied.

--commit then commits exactly the files kronform-gen owns (removals included) with go-git, as the author and
committer git would use, leaving out those git ignores and does not track. It refuses, before writing anything, when
other changes are staged, commit.gpgsign asks for a signature, -m is empty, or while git is in the middle of a merge,
rebase, cherry-pick or revert, or the index has unmerged paths.

` + exitCodesHelp,
		Example: `  kronform-gen generate
  kronform-gen generate --spec clusters.yaml --out ../fleet-repo
  kronform-gen generate --commit -m "cilium: 1.16"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOut(false); err != nil {
				return err
			}
			// git refuses an empty message; an explicit -m "" must not fall back to the default either.
			if doCommit && cmd.Flags().Changed("message") && strings.TrimSpace(msg) == "" {
				return fail(ExitUsage, "-m: the commit message is empty; give one, or leave -m out for the default. "+
					"Nothing was written.")
			}
			m, r, err := a.render()
			if err != nil {
				return err
			}
			if err := a.auditGuard(m); err != nil {
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
			res, err := tree.Write(a.outDir, t, func(_ string, b []byte) bool { return manifest.Owned(b) })
			var conflict *tree.ConflictError
			var unwritable *tree.UnwritableError
			switch {
			case errors.As(err, &conflict):
				return fail(ExitUsage, "%s: %v", a.outDir, err)
			case errors.As(err, &unwritable):
				// Found before anything was written: names the spec makes that this file system cannot hold, or an
				// --out that cannot be written.
				return fail(ExitUsage, "%s: %v; nothing was written", a.outDir, err)
			case err != nil:
				return fail(ExitFailure, "writing %s: %v", a.outDir, err)
			}
			if res.Undone != "" {
				fmt.Fprintf(a.stderr, "note: %s\n", res.Undone)
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
			// generate leaves files it did not write alone, but check fails on those in a folder it generates whole.
			if entries, err := tree.Entries(a.outDir, generatedFolders(t)); err == nil {
				for _, p := range strayFiles(entries, t) {
					fmt.Fprintf(a.stderr, "note: stray %s (not generated, in a folder kronform-gen generates whole: Flux applies it too, and check fails on it; delete or move it)\n", p)
				}
			}
			if pending != nil {
				return a.commit(pending)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&doCommit, "commit", false, "commit the owned files with go-git after a successful generate")
	cmd.Flags().StringVarP(&msg, "message", "m", "", "the commit message (default \"kronform-gen: regenerate from SPEC\")")
	return cmd
}
