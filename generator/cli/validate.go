package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/generator/validate"
)

func (a *app) validateCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check every generated object against the real CRD schemas, offline",
		Long: `validate checks every object of the tree on disk (the files kronform-gen generated there, per its ownership
record) the way a Kubernetes API server would on a server-side apply with strict field validation: HelmRelease,
HelmRepository, Kustomization, GitRepository and CiliumClusterwideNetworkPolicy against the CRD schemas embedded in
the binary (pruning of unknown fields, OpenAPI schema, CEL rules), Secret, ConfigMap and Namespace through their Go
types. It needs no cluster, no network and no spec. generate and check run the same validation.

SOPS-encrypted Secrets are checked without their sops block; their encrypted values cannot be checked without the key.

` + exitCodesHelp,
		Example: `  kronform-gen validate
  kronform-gen validate --out ../fleet-repo --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fail(ExitUsage, "--output must be text or json, not %q", output)
			}
			if err := a.checkOut(true); err != nil {
				return err
			}
			if err := a.refusePending("validate"); err != nil {
				return err
			}
			findings, files, err := validate.Dir(a.outDir)
			if err != nil {
				return fail(ExitUsage, "validating %s: %v", a.outDir, err)
			}
			if output == "json" {
				return a.printFindingsJSON(findings, files)
			}
			if files == 0 {
				// Not an error (an empty tree holds nothing invalid), but a mistyped --out must not read as a pass.
				fmt.Fprintf(a.stderr, "%s: nothing to validate: no generated YAML files there\n", a.outDir)
				return nil
			}
			if len(findings) == 0 {
				fmt.Fprintf(a.stderr, "%s: every generated object is valid\n", a.outDir)
				return nil
			}
			printFindings(a.stdout, findings, a.outDir)
			fmt.Fprintf(a.stderr, "%d problem(s) in %s: the API server would refuse these objects\n", len(findings), a.outDir)
			return silent(ExitFailure)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// findingsJSON is validate's machine-readable result; findings is always a list, never null. Files counts the files
// validated: 0 says there was nothing to validate.
type findingsJSON struct {
	Valid    bool               `json:"valid"`
	Files    int                `json:"files"`
	Findings []validate.Finding `json:"findings"`
}

func (a *app) printFindingsJSON(findings []validate.Finding, files int) error {
	if findings == nil {
		findings = []validate.Finding{}
	}
	b, err := json.MarshalIndent(findingsJSON{Valid: len(findings) == 0, Files: files, Findings: findings}, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, string(b))
	if len(findings) > 0 {
		return silent(ExitFailure)
	}
	return nil
}

// printFindings writes one line per finding, paths relative to the working directory like every other message.
func printFindings(w io.Writer, findings []validate.Finding, dir string) {
	for _, f := range findings {
		f.File = filepath.ToSlash(filepath.Join(dir, filepath.FromSlash(f.File)))
		fmt.Fprintln(w, f)
	}
}

// refuseInvalid stops generate before it writes a tree the API server would refuse.
func (a *app) refuseInvalid(t *tree.Tree) error {
	findings, err := validate.Tree(t)
	if err != nil {
		return fail(ExitFailure, "%v", err)
	}
	if len(findings) == 0 {
		return nil
	}
	printFindings(a.stdout, findings, a.outDir)
	return fail(ExitFailure, "%d object(s) the API server would refuse; nothing was written (this is a kronform-gen bug or a raw value in the spec: please report it)", len(findings))
}
