// Command bench measures build and check on a synthetic 100-cluster fleet against their peers, in the same run:
// kronform-gen build of every Kustomization versus the kustomize CLI run once per path (and versus kustomize's full
// engine, krusty, run in one process on every path), and kronform-gen check, cold, warm and remembered, versus
// reading the whole tree with cat. Run it with `go run ./hack/bench-preview` (make bench).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kronform/kronform-gen/generator/cache"
	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/cli"
	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/preview"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
	"github.com/kronform/kronform-gen/internal/fleetgen"
	"github.com/kronform/kronform-gen/internal/parallel"
)

func main() {
	clusters := flag.Int("clusters", 100, "clusters in the synthetic fleet")
	rounds := flag.Int("rounds", 3, "runs of each measurement; the fastest counts")
	flag.Parse()
	if err := run(*clusters, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(clusters, rounds int) error {
	tmp, err := os.MkdirTemp("", "kronform-gen-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	spec, out := filepath.Join(tmp, "fleet.yaml"), filepath.Join(tmp, "repo")
	if err := os.WriteFile(spec, fleetgen.Spec(clusters), 0o644); err != nil {
		return err
	}
	var stderr bytes.Buffer
	if code := cli.Main([]string{"generate", "--spec", spec, "--out", out}, nil, &bytes.Buffer{}, &stderr); code != 0 {
		return fmt.Errorf("generate: %s", stderr.String())
	}
	// Both sides run as processes started from binaries built here, so neither pays `go run` or `go tool`.
	gen := filepath.Join(tmp, "kronform-gen")
	kustomize := filepath.Join(tmp, "kustomize")
	for bin, pkg := range map[string]string{gen: "./cmd/kronform-gen", kustomize: "sigs.k8s.io/kustomize/kustomize/v5"} {
		if b, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	src, err := preview.FromDir(out)
	if err != nil {
		return err
	}
	ks, err := src.Kustomizations()
	if err != nil {
		return err
	}
	var files []string
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	fmt.Printf("fleet: %d clusters, %d Flux Kustomizations, %d files\n", clusters, len(ks), len(files))

	build, err := best(rounds, func() error { return runQuiet(gen, "build", "--out", out) })
	if err != nil {
		return err
	}
	cliBuild, err := best(rounds, func() error {
		for _, k := range ks {
			if err := runQuiet(kustomize, "build", filepath.Join(out, k.Path)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// kustomize's full engine in-process: krusty alone on every path, on every core, in a process that has already
	// paid kustomize's one-time start (its OpenAPI schema), with the binary's GC setting.
	debug.SetGCPercent(400)
	engine, err := best(rounds, func() error { return krustyAll(out, ks) })
	if err != nil {
		return err
	}

	// check cold is the first run of a binary: nothing validated before. warm: every file was validated before by
	// this binary, but the spec differs from every earlier run (a comment is appended each round), so check renders
	// and compares in full, as on a commit that changed the spec. remembered: the same binary, flags, spec and tree
	// passed before, and check answers from its remembered verdict after reading and hashing spec and tree.
	cacheDir := filepath.Join(tmp, "cache")
	coldRound := 0
	checkCold, err := best(rounds, func() error {
		coldRound++
		return runEnv([]string{cache.Env + "=" + filepath.Join(cacheDir, fmt.Sprint("cold", coldRound))}, gen, "check", "--spec", spec, "--out", out)
	})
	if err != nil {
		return err
	}
	warmEnv := []string{cache.Env + "=" + filepath.Join(cacheDir, "warm")}
	if err := runEnv(warmEnv, gen, "check", "--spec", spec, "--out", out); err != nil {
		return err
	}
	warmRound := 0
	checkWarm, err := best(rounds, func() error {
		warmRound++
		f, err := os.OpenFile(spec, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "# round %d\n", warmRound)
		if err := f.Close(); err != nil {
			return err
		}
		return runEnv(warmEnv, gen, "check", "--spec", spec, "--out", out)
	})
	if err != nil {
		return err
	}
	checkRemembered, err := best(rounds, func() error { return runEnv(warmEnv, gen, "check", "--spec", spec, "--out", out) })
	if err != nil {
		return err
	}
	start, err := best(rounds, func() error { return runQuiet(gen, "version") })
	if err != nil {
		return err
	}
	cat, err := best(rounds, func() error { return runQuiet("cat", files...) })
	if err != nil {
		return err
	}
	parts, err := checkParts(rounds, spec, out)
	if err != nil {
		return err
	}
	ratio := func(a, b time.Duration) float64 { return float64(a) / float64(b) }
	fmt.Printf("build: kronform-gen build (all %d)        %8s   kustomize build once per path  %8s   speed-up %5.1fx (goal >= 20x)\n",
		len(ks), round(build), round(cliBuild), ratio(cliBuild, build))
	fmt.Printf("       krusty alone on every path, in-process %6s   (%.1fx; build skips it for plain folders)\n",
		round(engine), ratio(cliBuild, engine))
	fmt.Printf("check: kronform-gen check, cold            %8s   cat of the whole tree          %8s   ratio    %5.1fx (goal <= 5x)\n",
		round(checkCold), round(cat), ratio(checkCold, cat))
	fmt.Printf("       warm (validated before, spec changed) %7s                                            ratio    %5.1fx\n",
		round(checkWarm), ratio(checkWarm, cat))
	fmt.Printf("       remembered (same inputs passed before) %6s                                            ratio    %5.1fx\n",
		round(checkRemembered), ratio(checkRemembered, cat))
	fmt.Printf("       kronform-gen version (process start) %8s                                            ratio    %5.1fx\n",
		round(start), ratio(start, cat))
	fmt.Printf("       a warm check's parts, each alone in-process: spec parse %s (%.1fx), lints %s (%.1fx), render %s (%.1fx), tree read %s (%.1fx)\n",
		round(parts.parse), ratio(parts.parse, cat), round(parts.lint), ratio(parts.lint, cat),
		round(parts.render), ratio(parts.render, cat), round(parts.read), ratio(parts.read, cat))
	fmt.Printf("       process start + spec parse, which no check after a change can skip: %s (%.1fx)\n",
		round(start+parts.parse), ratio(start+parts.parse, cat))
	return nil
}

type parts struct{ parse, lint, render, read time.Duration }

// checkParts times what a check after a spec change does, one part at a time in this process (the spec parse and
// the tree read overlap in check; lints and render each use every core): best of rounds each.
func checkParts(rounds int, specPath, out string) (parts, error) {
	var p parts
	data, err := os.ReadFile(specPath)
	if err != nil {
		return p, err
	}
	var m *spec.Model
	if p.parse, err = best(rounds, func() (err error) {
		m, err = spec.Load(specPath, data, spec.Options{})
		return err
	}); err != nil {
		return p, err
	}
	if p.lint, err = best(rounds, func() error {
		cilium.Lint(m)
		firewall.Lint(m)
		return nil
	}); err != nil {
		return p, err
	}
	var disk *tree.Disk
	if p.read, err = best(rounds, func() (err error) {
		disk, err = tree.ReadDisk(out)
		return err
	}); err != nil {
		return p, err
	}
	p.render, err = best(rounds, func() error {
		_, err := render.Fleet(m, render.Options{Previous: disk, Keys: &secrets.Identities{}, Sources: secrets.Environment{Dir: filepath.Dir(specPath), LookupEnv: os.LookupEnv}})
		return err
	})
	return p, err
}

// krustyAll runs kustomize's engine on every Kustomization's path, as many at once as there are cores.
func krustyAll(root string, ks []preview.Kustomization) error {
	fsys := filesys.MakeFsOnDisk()
	opts := &krusty.Options{Reorder: krusty.ReorderOptionUnspecified, LoadRestrictions: kustypes.LoadRestrictionsNone, PluginConfig: kustypes.DisabledPluginConfig()}
	errs := make([]error, len(ks))
	parallel.For(len(ks), 0, func(i int) {
		_, errs[i] = krusty.MakeKustomizer(opts).Run(fsys, filepath.Join(root, ks[i].Path))
	})
	return errors.Join(errs...)
}

func runEnv(env []string, name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args[:min(len(args), 2)], " "), err, stderr.String())
	}
	return nil
}

func best(n int, f func() error) (time.Duration, error) {
	var min time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		if d := time.Since(start); i == 0 || d < min {
			min = d
		}
	}
	return min, nil
}

func runQuiet(name string, args ...string) error { return runEnv(nil, name, args...) }

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
