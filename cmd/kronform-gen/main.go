// Command kronform-gen keeps a Flux repository true to one declarative cluster spec.
package main

import (
	"os"
	"runtime/debug"

	"github.com/kronform/kronform-gen/generator/cli"
)

func main() {
	tuneGC()
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// tuneGC trades memory for time, as befits a command that runs for a second and exits: a run allocates heavily
// (kustomize copies node trees, YAML encoders) while its live heap stays small, so the default collector spent a
// quarter of build's time. Collection starts at 5x the live heap instead of 2x, and a soft limit of 1 GiB brings the
// default pace back on very large fleets. GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(1 << 30)
	}
}
