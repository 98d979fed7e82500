package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/flux"
	"github.com/kronform/kronform-gen/generator/gitrepo"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// load reads and validates the spec and runs the lints that need the whole model; warnings go to stderr.
func (a *app) load() (*spec.Model, error) {
	data, err := a.readSpec()
	if err != nil {
		return nil, err
	}
	m, err := a.parseSpec(data)
	if err != nil {
		return nil, err
	}
	return a.lint(m, a.diskFiles())
}

// checkOut refuses an --out that cannot be the output folder, before anything reads or writes it: empty, a file, a
// symbolic link (the tree's own links are never followed, and the root is no exception: check would see an empty
// tree through one that generate wrote through), or below a file. A folder that does not exist yet is fine for the
// commands that say so themselves (generate creates it, check reports it); the others want it there.
func (a *app) checkOut(mustExist bool) error {
	if a.outDir == "" {
		return fail(ExitUsage, "--out is empty: name the output folder (default output)")
	}
	st, err := os.Lstat(a.outDir)
	if err == nil && st.IsDir() {
		// A trailing / or /. makes the system follow a link where the path ends (linked/ is the folder it leads
		// to): look at the last name itself.
		if clean, cerr := os.Lstat(filepath.Clean(a.outDir)); cerr == nil {
			st = clean
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		if here := a.bootstrappedHere(); here != "" {
			return fail(ExitUsage, "%s not found (%s)", a.outDir, here)
		}
		return fail(ExitUsage, "%s not found (give another with --out)", a.outDir)
	case errors.Is(err, syscall.ENOTDIR):
		return fail(ExitUsage, "--out %s: a folder on the way is a file", a.outDir)
	case err != nil:
		return fail(ExitUsage, "--out %v", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fail(ExitUsage, "--out %s is a symbolic link: name the folder it leads to (links are never followed)", a.outDir)
	case !st.IsDir():
		return fail(ExitUsage, "--out %s is not a folder", a.outDir)
	}
	return nil
}

// readSpec reads the spec file.
func (a *app) readSpec() ([]byte, error) {
	if outside, root := gitrepo.LeavesWorkTree(a.specPath); outside != "" {
		return nil, fail(ExitUsage, "spec %s leads to %s, outside the git repository %s: a spec is not read through a link "+
			"out of its repository (in CI the link could come from a pull request and point at a file of the runner)",
			a.specPath, outside, root)
	}
	data, err := os.ReadFile(a.specPath)
	var missing *fs.PathError
	if errors.As(err, &missing) && missing.Path == a.specPath && errors.Is(err, fs.ErrNotExist) {
		return nil, fail(ExitUsage, "spec %s not found (give another with --spec)", a.specPath)
	}
	if err != nil {
		return nil, fail(ExitUsage, "%v", err)
	}
	return data, nil
}

// parseSpec decodes, defaults and validates a spec already read; it prints nothing. With problems, the lints' errors
// about the clusters that loaded whole come with them (see spec.Model.Sound), so that one run reports both; their
// warnings wait for a spec that loads.
func (a *app) parseSpec(data []byte) (*spec.Model, error) {
	m, err := spec.LoadPartial(a.specPath, data, spec.Options{Templates: a.templates})
	if err != nil {
		var problems spec.Problems
		if errors.As(err, &problems) {
			if m != nil {
				errs, _ := lints(m)
				problems = append(problems, errs...).Sorted()
			}
			return nil, problems
		}
		return nil, fail(ExitUsage, "%v", err)
	}
	return m, nil
}

// lints are the lints that need the whole model (see spec.Model.Sound).
func lints(m *spec.Model) (errs, warnings spec.Problems) {
	errs, warnings = cilium.Lint(m)
	fwErrs, fwWarnings := firewall.Lint(m)
	return append(errs, fwErrs...).Sorted(), append(warnings, fwWarnings...)
}

// lint runs the lints that need the whole model; warnings go to stderr, errors come back. Those that need the tree
// on disk as well (out, read only as they need it) warn only: the tree is not the spec's to get wrong.
func (a *app) lint(m *spec.Model, out flux.Files) (*spec.Model, error) {
	errs, warnings := lints(m)
	warnings = append(warnings, flux.Lint(m, out)...)
	for _, w := range append(m.Warnings, warnings...).Sorted() {
		fmt.Fprintln(a.stderr, "warning:", w)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// diskFiles are the files of the output folder, listed when first asked for and read on demand (flux.Files,
// preview.Files). A tree that cannot be listed has no files.
func (a *app) diskFiles() diskFiles {
	return diskFiles{tree.Files(a.outDir), sync.OnceValue(func() []string {
		entries, _ := tree.Entries(a.outDir, []string{"."})
		return entries
	})}
}

// diskFiles are files of a tree on disk: paths lists them (entries that are no regular file among them, which File
// says are not there), fsys reads them.
type diskFiles struct {
	fsys  fs.FS
	paths func() []string
}

func (d diskFiles) Paths() []string { return d.paths() }

func (d diskFiles) File(p string) ([]byte, bool) {
	b, err := fs.ReadFile(d.fsys, p)
	return b, err == nil
}

func (d diskFiles) Size(p string) int64 {
	st, err := fs.Stat(d.fsys, p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// render runs the whole pipeline up to the in-memory tree. Secret files are read back from the output folder so an
// unchanged secret keeps its bytes; values come from the environment and from files next to the spec.
func (a *app) render() (*spec.Model, *render.Result, error) {
	m, err := a.load()
	if err != nil {
		return nil, nil, err
	}
	keys, err := a.identities()
	if err != nil {
		return nil, nil, err
	}
	res, err := a.renderModel(m, tree.Files(a.outDir), keys, a.sources())
	return m, res, err
}

// identities are the age identities of this run ($SOPS_AGE_KEY_FILE and the rest, or --age-key-file); none in CI.
// They are read once.
func (a *app) identities() (*secrets.Identities, error) {
	if a.keys != nil {
		return a.keys, nil
	}
	keys, err := secrets.LoadIdentities(a.ageKeyFile, os.LookupEnv)
	if err != nil {
		return nil, fail(ExitUsage, "%v", err)
	}
	a.keys = keys
	return keys, nil
}

// sources hand out secret values: environment variables, and files relative to the spec's folder.
func (a *app) sources() secrets.Environment {
	return secrets.Environment{Dir: filepath.Dir(a.specPath), LookupEnv: os.LookupEnv}
}

// renderModel renders a loaded spec; previous is the output tree as it stands.
func (a *app) renderModel(m *spec.Model, previous fs.FS, keys *secrets.Identities, sources secrets.Sources) (*render.Result, error) {
	res, err := render.Fleet(m, render.Options{
		Previous: previous,
		Keys:     keys,
		Sources:  sources,
	})
	var problems spec.Problems
	if errors.As(err, &problems) {
		return nil, problems // value sources missing or unreadable, each at its place in the spec
	}
	if err != nil {
		return nil, fail(ExitUsage, "%v", err)
	}
	return res, nil
}

// printNotes tells what the run could not verify about secrets, on stderr. When a key would have helped and none
// was given while sops' own key file is there (where sops -d finds it), it says that this run does not read it.
func (a *app) printNotes(res *render.Result) {
	keyWouldHelp := false
	for _, n := range res.Notes {
		fmt.Fprintln(a.stderr, "note:", n)
		keyWouldHelp = keyWouldHelp || n.Kind != secrets.Unreadable
	}
	if !keyWouldHelp {
		return
	}
	if keys, err := a.identities(); err != nil || keys.Available() {
		return
	}
	if f, ok := sopsKeysFile(); ok {
		fmt.Fprintf(a.stderr, "note: no age key was given, and generate and check do not read sops' own key file %s: "+
			"to use it, set %s=%s (or give --age-key-file)\n", f, secrets.KeyFileEnv, f)
	}
}

// sopsKeysFile is sops' own age key file (keys.txt in sops/age under the user's configuration folder,
// ~/.config/sops/age/keys.txt), when there is one.
func sopsKeysFile() (string, bool) {
	dir, err := sopsConfigDir(runtime.GOOS, os.LookupEnv, os.UserConfigDir)
	if err != nil {
		return "", false
	}
	keys := filepath.Join(dir, "sops", "age", "keys.txt")
	if _, err := os.Stat(keys); err != nil {
		return "", false
	}
	return keys, true
}

// sopsConfigDir is the folder sops looks for sops/age/keys.txt in: the user's configuration folder, except that on
// macOS a set XDG_CONFIG_HOME wins, as sops itself decides (os.UserConfigDir ignores it there and answers
// ~/Library/Application Support).
func sopsConfigDir(goos string, lookupEnv func(string) (string, bool), userConfigDir func() (string, error)) (string, error) {
	if goos == "darwin" {
		if dir, ok := lookupEnv("XDG_CONFIG_HOME"); ok && dir != "" {
			return dir, nil
		}
	}
	return userConfigDir()
}

// defaultOut is --out when not given.
const defaultOut = "output"

// bootstrappedHere names the folders clusters/<cluster>/flux-system of the current folder that hold flux bootstrap's
// gotk-sync.yaml, when --out is left at its default and that folder does not exist: a repository flux bootstrap made
// has its tree at the root, and a user who adopts kronform-gen there and leaves --out at its default checks or writes
// a folder Flux never reads. "" when there are none, --out exists, or --out names another folder (a scratch tree
// generated to compare, say, which is the user's to choose).
func (a *app) bootstrappedHere() string {
	if a.outDir != defaultOut {
		return ""
	}
	if _, err := os.Lstat(a.outDir); !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	found, _ := filepath.Glob(filepath.Join(spec.ClustersDir, "*", "flux-system", "gotk-sync.yaml"))
	if len(found) == 0 {
		return ""
	}
	for i, f := range found {
		found[i] = filepath.ToSlash(filepath.Dir(f)) + "/"
	}
	return fmt.Sprintf("%s here holds flux bootstrap's files: if this repository's root is the tree, give --out .", strings.Join(found, ", "))
}
