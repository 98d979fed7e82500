package preview

import (
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kronform/kronform-gen/generator/manifest"
)

// kustomize's and the YAML parsers' errors quote what they read, and what they read may be a Secret: an alias to
// an unknown anchor (stringData: {pw: *the-value}) fails with the value in the message. Build errors are therefore
// redacted (manifest.Redact) before they reach anyone, keeping only the quoted fragments that name a file or folder
// of the tree.

// redactedError is an error whose message is redacted; errors.Is and As still see the error it replaces.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with its message redacted.
func (s *Source) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := manifest.Redact(err.Error(), s.names)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// names says whether a quoted fragment of a message names a file or folder of the tree, by its path from the root
// or the last element of it.
func (s *Source) names(q string) bool {
	if q == "" || strings.ContainsAny(q, "\n") {
		return false
	}
	if s.fs.Exists(s.abs(strings.TrimPrefix(q, "/"))) {
		return true
	}
	s.baseNamesOnce.Do(func() {
		s.baseNames = map[string]bool{}
		_ = s.fs.Walk(s.root, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				s.baseNames[filepath.Base(p)] = true
			}
			return nil
		})
	})
	return s.baseNames[path.Base(filepath.ToSlash(q))]
}
