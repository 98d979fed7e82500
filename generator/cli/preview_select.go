package cli

import (
	"fmt"
	"strings"

	"github.com/kronform/kronform-gen/generator/preview"
)

// notFound refuses a CLUSTER/KUSTOMIZATION that names no Kustomization of the built cluster, listing those it has.
func notFound(res *preview.Result, opts preview.Options) error {
	if opts.Name == "" {
		return nil
	}
	var ids []string
	for _, k := range res.Kustomizations {
		if k.Name == opts.Name {
			return nil
		}
		ids = append(ids, k.ID())
	}
	return fail(ExitUsage, "no Flux Kustomization %s in the tree; there are: %s", shownArg(opts.Cluster+"/"+opts.Name), strings.Join(ids, ", "))
}

// printSkipped notes, on stderr, each Kustomization that Flux does not apply from this tree and so was not built.
func (a *app) printSkipped(label string, skipped []preview.Skipped) {
	for _, s := range skipped {
		fmt.Fprintf(a.stderr, "note: %s%s: not built from this tree: %s\n", label, s.ID(), s.Reason)
	}
}
