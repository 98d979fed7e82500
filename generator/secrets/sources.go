package secrets

import (
	"errors"
	"fmt"
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
	b, err := os.ReadFile(filepath.Join(e.Dir, filepath.FromSlash(src.File)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrAbsent
	}
	if err != nil {
		// The os error names the path and the reason, never the contents.
		return nil, fmt.Errorf("reading %s: %w", Describe(src), err)
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
