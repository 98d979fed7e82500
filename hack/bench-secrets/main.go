// Command secretsbench measures regenerating a tree of 200 unchanged secrets against decrypting each of them once
// with the sops CLI, in the same run, and prints both times and their ratio. Run it from the repository root
// (make bench): it builds the sops CLI that go.mod pins.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/render"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

const count = 200

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "secretsbench:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "secretsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	keyFile := filepath.Join(dir, "bench.agekey")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\ndefaults:\n  ageRecipients: [%s]\nclusters:\n", spec.APIVersion, spec.Kind, id.Recipient())
	b.WriteString("  - name: bench\n    apiServer: {host: api.bench.example.com}\n    nodes:\n      - {name: cp1, roles: [control-plane]}\n    cilium: {version: 1.16.5}\n    secrets:\n")
	for i := range count {
		fmt.Fprintf(&b, "      - name: s%03d\n        namespace: default\n        data:\n          token: {file: values/s%03d}\n", i, i)
	}
	os.MkdirAll(filepath.Join(dir, "values"), 0o755)
	for i := range count {
		os.WriteFile(filepath.Join(dir, "values", fmt.Sprintf("s%03d", i)), fmt.Appendf(nil, "bench-value-%03d", i), 0o600)
	}
	specPath := filepath.Join(dir, "cluster-spec.yaml")
	if err := os.WriteFile(specPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	m, err := spec.LoadFile(specPath, spec.Options{})
	if err != nil {
		return err
	}
	keys, err := secrets.LoadIdentities(keyFile, os.LookupEnv)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "output")
	opts := render.Options{Previous: os.DirFS(out), Keys: keys, Sources: secrets.Environment{Dir: dir, LookupEnv: os.LookupEnv}}
	first, err := render.Fleet(m, opts)
	if err != nil {
		return err
	}
	owned := func(_ string, b []byte) bool { return manifest.Owned(b) }
	if _, err := tree.Write(out, first.Tree, owned); err != nil {
		return err
	}

	start := time.Now()
	again, err := render.Fleet(m, opts)
	regen := time.Since(start)
	if err != nil {
		return err
	}
	var files []string
	for _, p := range again.Tree.Paths() {
		if !strings.HasPrefix(p, "infrastructure/bench/secrets/default/") {
			continue
		}
		files = append(files, filepath.Join(out, filepath.FromSlash(p)))
		want, _ := again.Tree.File(p)
		have, _ := first.Tree.File(p)
		if !bytes.Equal(want, have) {
			return fmt.Errorf("%s changed on an unchanged regeneration", p)
		}
	}
	if len(files) != count {
		return fmt.Errorf("rendered %d secret files, want %d", len(files), count)
	}

	sops := filepath.Join(dir, "sops")
	build := exec.Command("go", "build", "-o", sops, "github.com/getsops/sops/v3/cmd/sops")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building sops: %w", err)
	}
	env := []string{"HOME=" + dir, "SOPS_AGE_KEY_FILE=" + keyFile}
	start = time.Now()
	for _, f := range files {
		cmd := exec.Command(sops, "-d", f)
		cmd.Env = env
		cmd.Stdout = nil // decrypted output is discarded, never printed
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("sops -d %s: %w", filepath.Base(f), err)
		}
	}
	cli := time.Since(start)

	fmt.Printf("secrets: %d unchanged secrets\n", count)
	fmt.Printf("  kronform-gen regenerate (decrypt, compare, keep): %v\n", regen.Round(time.Millisecond))
	fmt.Printf("  sops -d once per file (CLI):                      %v\n", cli.Round(time.Millisecond))
	fmt.Printf("  ratio sops-d/regenerate: %.1fx\n", float64(cli)/float64(regen))
	return nil
}
