package preview

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kronform/kronform-gen/generator/manifest"
)

// kustomize's and the YAML parsers' errors print what they read, and what they read may be a Secret: a literal that
// is no key=value, an env file's line of invalid UTF-8 (as bytes), an alias to an unknown anchor (pw: *the-value), a
// patch or an object dumped whole. A build records the files it reads (inputs); when its error comes and any of them
// may hold a secret value (manifest.MayHoldSecret, or decrypted for the build), or postBuild substituted variables
// from a Secret, the message is redacted (manifest.Redact), keeping the tree's paths. An error of a build that read
// no such file prints as kustomize wrote it, and so do the errors kronform-gen words itself.

// redactedError is an error whose message is redacted; errors.Is and As still see the error it replaces.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError returns err with its message redacted, keeping the words keep takes.
func redactError(err error, keep func(string) bool) error {
	if err == nil {
		return nil
	}
	msg := manifest.Redact(err.Error(), keep)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactFile redacts the error met reading a file of the tree, when the file may hold a secret value.
func (s *Source) redactFile(err error, data []byte) error {
	if err == nil || !manifest.MayHoldSecret(data) {
		return err
	}
	return redactError(err, s.names)
}

// names says whether a word of a message names a file or folder of the tree, by its path from the root or the last
// element of it.
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

// inputs are what a build read: the files, by their path in fs (the tree with what the build lays over it), those
// decrypted for it, and whether postBuild substituted variables from a Secret.
type inputs struct {
	src *Source
	fs  filesys.FileSystem

	mu         sync.Mutex
	read       []string
	seen       map[string]bool
	decrypted  map[string]bool
	secretVars bool
}

func newInputs(s *Source) *inputs {
	return &inputs{src: s, fs: s.fs, seen: map[string]bool{}, decrypted: map[string]bool{}}
}

func (in *inputs) add(p string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.seen[p] {
		in.seen[p] = true
		in.read = append(in.read, p)
	}
}

// over makes fs what the build reads from now on, and returns it with every read recorded.
func (in *inputs) over(fs filesys.FileSystem) filesys.FileSystem {
	in.fs = fs
	return recorder{fs, in}
}

// recorder records the files read through it.
type recorder struct {
	filesys.FileSystem
	in *inputs
}

func (r recorder) ReadFile(p string) ([]byte, error) {
	r.in.add(p)
	return r.FileSystem.ReadFile(p)
}

func (r recorder) Open(p string) (filesys.File, error) {
	r.in.add(p)
	return r.FileSystem.Open(p)
}

// redact redacts err when the build's inputs may hold a secret value; without inputs, it always does. The tree's
// paths are kept.
func (in *inputs) redact(err error) error {
	if err == nil {
		return nil
	}
	if in == nil {
		return redactError(err, nil)
	}
	in.mu.Lock()
	read := slices.Clone(in.read)
	secret := in.secretVars
	in.mu.Unlock()
	for _, p := range read {
		data, rerr := in.fs.ReadFile(p)
		secret = secret || in.decrypted[filepath.Clean(p)] || rerr == nil && manifest.MayHoldSecret(data)
	}
	if !secret {
		return err
	}
	return redactError(err, in.src.names)
}
