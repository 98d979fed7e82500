package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// load reads and validates the spec and runs the lints that need the whole model; warnings go to stderr.
func (a *app) load() (*spec.Model, error) {
	m, err := spec.LoadFile(a.specPath, spec.Options{Templates: a.templates})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(ExitUsage, "spec %s not found (give another with --spec)", a.specPath)
	}
	if err != nil {
		var problems spec.Problems
		if errors.As(err, &problems) {
			return nil, problems
		}
		return nil, fail(ExitUsage, "%v", err)
	}
	errs, warnings := cilium.Lint(m)
	fwErrs, fwWarnings := firewall.Lint(m)
	errs, warnings = append(errs, fwErrs...).Sorted(), append(warnings, fwWarnings...)
	for _, w := range append(m.Warnings, warnings...).Sorted() {
		fmt.Fprintln(a.stderr, "warning:", w)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// render runs the whole pipeline up to the in-memory tree.
func (a *app) render() (*spec.Model, *tree.Tree, error) {
	m, err := a.load()
	if err != nil {
		return nil, nil, err
	}
	t, err := render.Fleet(m)
	if err != nil {
		return nil, nil, fail(ExitUsage, "%v", err)
	}
	return m, t, nil
}
