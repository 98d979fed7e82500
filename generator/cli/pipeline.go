package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
)

// load reads and validates the spec and runs the lints that need the whole model; warnings go to stderr.
func (a *app) load() (*spec.Model, error) {
	m, err := spec.LoadFile(a.specPath, spec.Options{Templates: a.templates})
	var missing *fs.PathError
	if errors.As(err, &missing) && missing.Path == a.specPath && errors.Is(err, fs.ErrNotExist) {
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

// render runs the whole pipeline up to the in-memory tree. Secret files are read back from the output folder so an
// unchanged secret keeps its bytes; values come from the environment and from files next to the spec.
func (a *app) render() (*spec.Model, *render.Result, error) {
	m, err := a.load()
	if err != nil {
		return nil, nil, err
	}
	res, err := a.renderModel(m, os.DirFS(a.outDir))
	return m, res, err
}

// renderModel renders a loaded spec; previous is the output tree as it stands.
func (a *app) renderModel(m *spec.Model, previous fs.FS) (*render.Result, error) {
	keys, err := secrets.LoadIdentities(a.ageKeyFile, os.LookupEnv)
	if err != nil {
		return nil, fail(ExitUsage, "%v", err)
	}
	res, err := render.Fleet(m, render.Options{
		Previous: previous,
		Keys:     keys,
		Sources:  secrets.Environment{Dir: m.Dir, LookupEnv: os.LookupEnv},
	})
	if err != nil {
		return nil, fail(ExitUsage, "%v", err)
	}
	return res, nil
}

// printNotes tells what the run could not verify about secrets, on stderr.
func (a *app) printNotes(res *render.Result) {
	for _, n := range res.Notes {
		fmt.Fprintln(a.stderr, "note:", n)
	}
}
