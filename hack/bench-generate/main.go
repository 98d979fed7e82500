// Command bench-generate measures kronform-gen generate on synthetic fleets of growing size (made by fleetgen, never
// committed): wall time and peak memory per size, and the ratio against copying the finished tree with cp -r, the
// floor for any tool that writes these files. It is run by make bench; nothing here is a test.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kronform/kronform-gen/internal/fleetgen"
)

func main() {
	bin := flag.String("bin", "bin/kronform-gen", "the kronform-gen binary to measure")
	flag.Parse()
	if err := run(*bin, []int{10, 100, 1000}); err != nil {
		fmt.Fprintln(os.Stderr, "bench-generate:", err)
		os.Exit(1)
	}
}

func run(bin string, sizes []int) error {
	work, err := os.MkdirTemp("", "kronform-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Printf("%-9s %7s %10s %10s %12s %10s %9s\n", "clusters", "files", "generate", "peak RSS", "per cluster", "cp -r", "ratio")
	var prev time.Duration
	for _, n := range sizes {
		specFile := filepath.Join(work, fmt.Sprintf("fleet-%d.yaml", n))
		if err := os.WriteFile(specFile, fleetgen.Spec(n), 0o644); err != nil {
			return err
		}
		out := filepath.Join(work, fmt.Sprintf("out-%d", n))
		wall, rss, err := measure(bin, "generate", "-f", specFile, "--out", out)
		if err != nil {
			return err
		}
		files := 0
		filepath.WalkDir(out, func(_ string, d os.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				files++
			}
			return nil
		})
		cp, _, err := measure("cp", "-r", out, out+"-copy")
		if err != nil {
			return err
		}
		growth := ""
		if prev > 0 {
			growth = fmt.Sprintf("  (x%.1f time for x10 clusters)", float64(wall)/float64(prev))
		}
		prev = wall
		fmt.Printf("%-9d %7d %10s %8.1fMB %12s %10s %8.1fx%s\n", n, files, wall.Round(time.Millisecond), float64(rss)/1024,
			(wall / time.Duration(n)).Round(time.Microsecond), cp.Round(time.Millisecond), float64(wall)/float64(cp), growth)
	}
	return nil
}

// measure runs a command and returns its wall time and peak resident memory in KiB (the kernel's maxrss).
func measure(name string, args ...string) (time.Duration, int64, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = nil
	start := time.Now()
	if out, err := cmd.Output(); err != nil {
		return 0, 0, fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	wall := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss
	}
	return wall, rss, nil
}
