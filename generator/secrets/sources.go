package secrets

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kronform/kronform-gen/generator/spec"
)

// ErrAbsent says a value's source (its variable or file) is not there, which is normal in CI.
var ErrAbsent = errors.New("value source is absent")

// Sources hand out secret values by their spec source. Value returns ErrAbsent (wrapped or not) when the source is
// simply not there; any other error stops the run.
type Sources interface {
	Value(src spec.SecretSource) ([]byte, error)
}

// Environment reads values from environment variables and from files relative to Dir (the spec's folder).
type Environment struct {
	Dir       string
	LookupEnv func(string) (string, bool)
}

// Value implements Sources. An empty variable counts as absent: CI systems expand a secret they do not have to "".
func (e Environment) Value(src spec.SecretSource) ([]byte, error) {
	if src.Env != "" {
		v, ok := e.LookupEnv(src.Env)
		if !ok || v == "" {
			return nil, ErrAbsent
		}
		return []byte(v), nil
	}
	b, err := readValueFile(filepath.Join(e.Dir, filepath.FromSlash(src.File)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrAbsent
	}
	if err != nil {
		// The error names the path and the reason, never the contents.
		return nil, fmt.Errorf("reading %s: %w", Describe(src), err)
	}
	return b, nil
}

// maxValue is the most a Kubernetes Secret holds, all its keys together: a larger file cannot be a value.
const maxValue = 1 << 20

// readValueFile reads a value file: a regular file (a link to one is fine) of at most maxValue bytes. The spec names
// the path, and check runs on pull requests: /dev/zero or a pipe must fail at once, not eat the machine or hang it.
func readValueFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxValue+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxValue {
		return nil, fmt.Errorf("larger than 1 MiB, the most a Kubernetes Secret holds")
	}
	return b, nil
}

// NoSources is the Sources of a run that has none: every value is absent.
type NoSources struct{}

// Value implements Sources.
func (NoSources) Value(spec.SecretSource) ([]byte, error) { return nil, ErrAbsent }

// Describe names a source for messages: the variable or the path, never the value.
func Describe(src spec.SecretSource) string {
	if src.Env != "" {
		return "environment variable " + src.Env
	}
	return "file " + src.File
}
