package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/tree"
)

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Fail when the tree on disk is not what the spec generates (the CI drift gate)",
		Long: `check renders the spec in memory and compares it with the tree on disk, file by file. It writes nothing.
Without an age key (CI) an existing secret file is kept and checked as far as its readable parts allow (names, type,
keys, recipients); check says which values it could not verify, and fails when a secret changed in a way only a key
holder can write.

` + exitCodesHelp,
		Example: `  kronform-gen check`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, r, err := a.render()
			if err != nil {
				return err
			}
			// A write that a kill interrupted after its commit point is finished first, as every command does, so that
			// check judges the tree that write made rather than half of it.
			if err := tree.Recover(a.outDir); err != nil {
				return fail(ExitFailure, "%s: %v", a.outDir, err)
			}
			a.printNotes(r)
			t := r.Tree
			changes, err := tree.Compare(a.outDir, t)
			if err != nil {
				return fail(ExitUsage, "reading %s: %v", a.outDir, err)
			}
			stuck := r.NeedsKeyHolder()
			invalid, err := a.invalidOnDisk()
			if err != nil {
				return err
			}
			if len(changes) == 0 && len(stuck) == 0 && invalid == 0 {
				fmt.Fprintf(a.stderr, "%s is in sync with %s (%d files)\n", a.outDir, a.specPath, t.Len())
				return nil
			}
			if invalid > 0 {
				fmt.Fprintf(a.stderr, "%s: %d object(s) the API server would refuse\n", a.outDir, invalid)
			}
			for _, c := range changes {
				note := ""
				if c.HandEdited {
					note = " (edited by hand)"
				}
				fmt.Fprintf(a.stdout, "%-8s %s%s\n", c.Kind, c.Path, note)
			}
			if len(changes) > 0 {
				fmt.Fprintf(a.stderr, "%s has drifted from %s: %d file(s) differ; run kronform-gen generate\n", a.outDir, a.specPath, len(changes))
			}
			if len(stuck) > 0 {
				fmt.Fprintf(a.stderr, "%s has drifted from %s: %d secret(s) need an age key holder to run kronform-gen generate\n", a.outDir, a.specPath, len(stuck))
			}
			return silent(ExitFailure)
		},
	}
}
