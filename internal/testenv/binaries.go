package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Binary is one program the end-to-end tests run, built from the Go module
// proxy by Script into the cache under a versioned name.
type Binary struct {
	Name    string
	Version string
	// Script is the repository script that builds it.
	Script string
}

// The programs the end-to-end tests run. The versions must match the
// hack/build-*.sh scripts (TestVersionsMatchScripts checks it).
var (
	Etcd                = Binary{Name: "etcd", Version: "v3.7.3", Script: "hack/build-k8s.sh"}
	KubeAPIServer       = Binary{Name: "kube-apiserver", Version: "v1.37.2", Script: "hack/build-k8s.sh"}
	SourceController    = Binary{Name: "source-controller", Version: "v1.9.6", Script: "hack/build-flux.sh"}
	KustomizeController = Binary{Name: "kustomize-controller", Version: "v1.9.6", Script: "hack/build-flux.sh"}
	HelmController      = Binary{Name: "helm-controller", Version: "v1.6.4", Script: "hack/build-flux.sh"}
)

// Binaries lists every program hack/e2e-deps.sh builds.
func Binaries() []Binary {
	return []Binary{Etcd, KubeAPIServer, SourceController, KustomizeController, HelmController}
}

// E2EEnv=1 turns the end-to-end tests on; missing binaries are then a
// failure, not a skip. CI sets it after running hack/e2e-deps.sh.
const E2EEnv = "KRONFORM_E2E"

// Cache returns the folder the build scripts write to:
// $KRONFORM_CACHE, or $HOME/.cache/kronform-gen.
func Cache() string {
	if dir := os.Getenv("KRONFORM_CACHE"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// Same fallback as the scripts' "$HOME" when HOME is unset: a
		// relative path that simply will not contain the binaries.
		home = "."
	}
	return filepath.Join(home, ".cache", "kronform-gen")
}

// Path is where the build script puts the binary.
func (b Binary) Path() string {
	return filepath.Join(Cache(), "bin", b.Name+"-"+b.Version)
}

// Find returns the binary's path, or an error naming the script to run.
func (b Binary) Find() (string, error) {
	p := b.Path()
	info, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s %s not found at %s: run %s (or hack/e2e-deps.sh)", b.Name, b.Version, p, b.Script)
	case err != nil:
		return "", fmt.Errorf("%s %s: %w", b.Name, b.Version, err)
	case info.IsDir() || info.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%s %s at %s is not an executable file: delete it and run %s", b.Name, b.Version, p, b.Script)
	}
	return p, nil
}

// Require gates an end-to-end test. Without KRONFORM_E2E=1 the test is
// skipped, so plain `go test ./...` stays quick and green on any machine.
// With KRONFORM_E2E=1 every binary hack/e2e-deps.sh builds must be present,
// else the test fails naming the script to run: CI can never silently skip.
func Require(t testing.TB) {
	t.Helper()
	require(t, Binaries()...)
}

// require is Require for the given binaries only.
func require(t testing.TB, bins ...Binary) {
	t.Helper()
	if os.Getenv(E2EEnv) != "1" {
		t.Skipf("end-to-end test: set %s=1 to run it (after hack/e2e-deps.sh)", E2EEnv)
	}
	var missing []string
	for _, b := range bins {
		if _, err := b.Find(); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%s=1 but end-to-end binaries are missing:\n\t%s", E2EEnv, strings.Join(missing, "\n\t"))
	}
}
