package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/kronform/kronform-gen/generator/cache"
	"github.com/kronform/kronform-gen/generator/secrets"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// check remembers a clean verdict the way `go test` remembers a passing test: keyed by every input the verdict
// depends on, so that a run with the same inputs prints the same report without rendering again. The inputs are the
// binary (the cache is per build ID), the flags that shape the report, the spec's bytes, the tree as read (every path
// and every file's contents) and, for each secret value source the render consulted, whether it was there. A run with
// an age key is never remembered (the values themselves would be inputs), nor one with --templates (a folder of
// inputs outside the spec). Only clean verdicts are kept; anything else is rendered again, every time.
const checkCacheName = "check"

// checkResult is what a clean check printed, and the source lookups it made.
type checkResult struct {
	Files   int         `json:"files"`
	Stdout  string      `json:"stdout"`
	Stderr  string      `json:"stderr"`
	Sources []sourceUse `json:"sources"`
}

// sourceUse is one lookup of a secret value source and how it came out: "present", "absent", or the error's
// message (which names the source, never a value). No value, nor any digest of one, is kept.
type sourceUse struct {
	Source  spec.SecretSource `json:"source"`
	Outcome string            `json:"outcome"`
}

// checkKey is the digest of a check's inputs other than the value sources.
func (a *app) checkKey(output string, specData []byte, d *tree.Disk) cache.Digest {
	sum := d.Sum()
	return cache.NewKey("check/1").String(a.specPath).String(a.outDir).String(output).
		Bytes(specData).Bytes(sum[:]).Sum()
}

// replayCheck prints the remembered report for key, when there is one and every value source still comes out as it
// did; it says whether it did.
func (a *app) replayCheck(key cache.Digest) bool {
	b, ok := cache.Result(checkCacheName, key)
	if !ok {
		return false
	}
	var r checkResult
	if json.Unmarshal(b, &r) != nil {
		return false
	}
	src := a.sources()
	for _, u := range r.Sources {
		if outcome(src.Value(u.Source)) != u.Outcome {
			return false
		}
	}
	io.WriteString(a.stdout, r.Stdout)
	io.WriteString(a.stderr, r.Stderr)
	fmt.Fprintf(a.stderr, "%s is in sync with %s (%d files; cached: the same binary, flags, spec and tree passed before)\n",
		a.outDir, a.specPath, r.Files)
	return true
}

// checkRecorder captures what a check prints and which value sources it consults, to remember a clean verdict.
type checkRecorder struct {
	stdout, stderr bytes.Buffer
	sources        *sourceLog
}

// record starts capturing a's output; sources wraps the value sources the render will use.
func (a *app) record() *checkRecorder {
	rec := &checkRecorder{sources: &sourceLog{src: a.sources()}}
	a.stdout = io.MultiWriter(a.stdout, &rec.stdout)
	a.stderr = io.MultiWriter(a.stderr, &rec.stderr)
	return rec
}

// store remembers a clean verdict over files files. A cache that cannot be written only costs the next run time.
func (rec *checkRecorder) store(key cache.Digest, files int) {
	b, err := json.Marshal(checkResult{
		Files: files, Stdout: rec.stdout.String(), Stderr: rec.stderr.String(), Sources: rec.sources.uses(),
	})
	if err == nil {
		_ = cache.StoreResult(checkCacheName, key, b)
	}
}

// sourceLog is a secrets.Sources that notes how each lookup came out.
type sourceLog struct {
	src secrets.Sources

	mu  sync.Mutex
	log []sourceUse
}

// Value implements secrets.Sources.
func (l *sourceLog) Value(s spec.SecretSource) ([]byte, error) {
	v, err := l.src.Value(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log = append(l.log, sourceUse{Source: s, Outcome: outcome(v, err)})
	return v, err
}

// uses are the lookups, each source once, in a fixed order.
func (l *sourceLog) uses() []sourceUse {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.log)
	slices.SortFunc(out, func(x, y sourceUse) int {
		return cmp.Or(strings.Compare(x.Source.Env, y.Source.Env), strings.Compare(x.Source.File, y.Source.File),
			strings.Compare(x.Outcome, y.Outcome))
	})
	return slices.Compact(out)
}

// outcome classes a lookup without keeping its value.
func outcome(_ []byte, err error) string {
	switch {
	case err == nil:
		return "present"
	case errors.Is(err, secrets.ErrAbsent):
		return "absent"
	default:
		return "error: " + err.Error()
	}
}
