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

` + exitCodesHelp,
		Example: `  kronform-gen check`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, t, err := a.render()
			if err != nil {
				return err
			}
			changes, err := tree.Compare(a.outDir, t)
			if err != nil {
				return fail(ExitUsage, "reading %s: %v", a.outDir, err)
			}
			invalid, err := a.invalidOnDisk()
			if err != nil {
				return err
			}
			if len(changes) == 0 && invalid == 0 {
				fmt.Fprintf(a.stderr, "%s is in sync with %s (%d files)\n", a.outDir, a.specPath, t.Len())
				return nil
			}
			if invalid > 0 {
				fmt.Fprintf(a.stderr, "%s: %d object(s) the API server would refuse\n", a.outDir, invalid)
			}
			if len(changes) == 0 {
				return silent(ExitFailure)
			}
			for _, c := range changes {
				note := ""
				if c.HandEdited {
					note = " (edited by hand)"
				}
				fmt.Fprintf(a.stdout, "%-8s %s%s\n", c.Kind, c.Path, note)
			}
			fmt.Fprintf(a.stderr, "%s has drifted from %s: %d file(s) differ; run kronform-gen generate\n", a.outDir, a.specPath, len(changes))
			return silent(ExitFailure)
		},
	}
}
