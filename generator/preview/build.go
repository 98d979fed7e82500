package preview

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/getsops/sops/v3/cmd/sops/formats"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// Options tune a build.
type Options struct {
	// Cluster, when set, builds that cluster alone, and Name, with it, selects that one Kustomization, which is then
	// built even when Flux would not apply it from this tree (with a note saying why). The rest of the cluster is
	// still built, unseen: it declares Kustomizations and provides substituteFrom sources.
	Cluster, Name string
	// Decrypt, when set, decrypts what kustomize-controller decrypts for a Kustomization with spec.decryption: the
	// SOPS-encrypted files its secretGenerators read and its patches (before kustomize build), SOPS-encrypted objects
	// and SOPS files held in a Secret's values (after), and lets variables from Secrets be substituted in the clear.
	// Without it encrypted values stay encrypted and Secret-sourced variables are substituted masked.
	Decrypt Decryptor
	// Workers bounds the builds running at once; 0 means one per CPU.
	Workers int
	// Resume names Kustomizations (cluster/name) to build as if not suspended, with all they declare: diff builds one
	// suspended on one side only on both, as what it holds is applied all the same (flux bootstrap's Kustomization
	// applies the revision that suspends it; one resumed applies what it holds then).
	Resume []string
}

// ErrKeyless marks a Decryptor's error that says the key given opens none of a file's recipients (a fleet whose
// clusters have keys of their own, and the user holds some). What it cannot open is built as without a key: kept
// encrypted, masked, and noted.
var ErrKeyless = errors.New("the age key given opens none of its recipients")

// Decryptor decrypts with the user's key what kustomize-controller decrypts with its own (secrets.Decryptor).
type Decryptor interface {
	// Object decrypts a SOPS-encrypted object: the object as JSON in, plaintext JSON out.
	Object(doc []byte) ([]byte, error)
	// File decrypts a SOPS-encrypted file read in format in, and emits the plaintext in format out.
	File(data []byte, in, out formats.Format) ([]byte, error)
}

// Build is what kustomize-controller would apply for one Flux Kustomization.
type Build struct {
	Kustomization
	// Resources are the objects in kustomize's order, after decryption (with Options.Decrypt) and postBuild
	// substitution. Secret values are NOT masked here: print them with YAML.
	Resources []*resource.Resource
	// KustomizationFile is the kustomization file the controller would build when it differs from the folder's (it
	// generated one, or merged spec fields such as targetNamespace into it); nil when the folder's own is built as is.
	KustomizationFile []byte
	// Generated says the folder has no kustomization file and KustomizationFile is the generated one.
	Generated bool
	// Notes say what could not be previewed faithfully (a substituteFrom source that is not in the tree, ...).
	Notes []string
	// noted are the contents of the SOPS-encrypted sources a note already names (built without the key).
	noted map[string]bool
	// opened and keyless count what the key given decrypted, and what it opened none of the recipients of.
	opened, keyless int
	// in is what the build read, which its later errors (decryption, postBuild) are redacted by.
	in *inputs
}

// Error is a Kustomization that failed to build.
type Error struct {
	ID  string
	Err error
}

func (e *Error) Error() string { return maskPlaceholders(fmt.Sprintf("%s: %v", e.ID, e.Err)) }
func (e *Error) Unwrap() error { return e.Err }

// schemaLock guards kustomize's process-wide OpenAPI schema. Builds share it (read lock); a tree whose kustomization
// files load a custom schema is built one at a time with the schema reset around each build, as kustomize-controller
// does for every build.
var schemaLock sync.RWMutex

// customSchemas says whether any kustomization file in the tree sets `openapi:`.
func (s *Source) customSchemas() (bool, error) {
	names := konfig.RecognizedKustomizationFileNames()
	found := false
	err := s.fs.Walk(s.root, func(p string, info os.FileInfo, err error) error {
		if err != nil || found {
			return err
		}
		if info.IsDir() {
			if info.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !slices.Contains(names, info.Name()) {
			return nil
		}
		data, err := s.fs.ReadFile(p)
		if err != nil {
			return err
		}
		found = bytes.HasPrefix(data, []byte("openapi:")) || bytes.Contains(data, []byte("\nopenapi:"))
		return nil
	})
	return found, err
}

// kustomize runs kustomize on the Kustomization's path, with the kustomization file the controller would use. Its
// error is redacted when what the build read may hold a secret value (see inputs).
func (s *Source) kustomize(k Kustomization, resetSchema bool, dec Decryptor) (b *Build, err error) {
	if k.Outside != nil {
		return nil, k.Outside
	}
	in := newInputs(s)
	defer func() {
		if err != nil {
			err = in.redact(err)
		}
	}()
	dir := s.abs(k.Path)
	kfile, data, generated, err := kustomizationFile(in.over(s.fs), dir, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.Path, err)
	}
	fs := s.fs
	if data != nil {
		fs = withFiles(fs, map[string][]byte{kfile: data})
	}
	var notes []string
	if data != nil && !generated {
		if n := droppedNote(in.over(s.fs), kfile, k); n != "" {
			notes = append(notes, n)
		}
	}
	var noted map[string]bool
	var opened, keyless int
	if decrypts(k) {
		src, err := decryptSources(in.over(fs), s.root, dir, dec)
		if err != nil {
			return nil, fmt.Errorf("error decrypting sources: %w", err)
		}
		fs = withFiles(fs, src.files)
		for p := range src.files {
			in.decrypted[filepath.Clean(p)] = true
		}
		noted, opened, keyless = src.contents, src.opened, len(src.encrypted)
		if len(src.encrypted) > 0 {
			patches := ""
			if src.dropped {
				patches = ", and the patches in them are left out"
			}
			how := "use --decrypt with the key"
			if dec != nil {
				how = "the age key given opens none of their recipients"
			}
			notes = append(notes, fmt.Sprintf(sourcesNote+"%s before kustomize build; built here "+
				"from the SOPS-encrypted files, what is made of them differs from what Flux applies (Secrets in their "+
				"values and name suffix%s): %s", strings.Join(src.encrypted, ", "), patches, how))
		}
	}
	read := in.over(fs)
	if resetSchema {
		schemaLock.Lock()
		defer schemaLock.Unlock()
		openapi.ResetOpenAPI()
		_ = openapi.Schema()
		defer openapi.ResetOpenAPI()
	} else {
		schemaLock.RLock()
		defer schemaLock.RUnlock()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize build %s panicked: %v", k.Path, r)
		}
	}()
	if !resetSchema {
		kdata := data
		if kdata == nil {
			kdata, err = read.ReadFile(kfile)
		}
		if err == nil {
			if m, ok := buildPlain(read, dir, kdata); ok {
				return &Build{Kustomization: k, Resources: m.Resources(), KustomizationFile: data, Generated: generated, Notes: notes, noted: noted,
					opened: opened, keyless: keyless, in: in}, nil
			}
		}
	}
	m, err := runKrusty(read, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", k.Path, err)
	}
	return &Build{Kustomization: k, Resources: m.Resources(), KustomizationFile: data, Generated: generated, Notes: notes, noted: noted,
		opened: opened, keyless: keyless, in: in}, nil
}

// sourcesNote opens the note on SOPS-encrypted sources that a build without the key cannot decrypt.
const sourcesNote = "kustomize-controller decrypts "

// decrypts says whether kustomize-controller decrypts for the Kustomization: spec.decryption with provider sops.
func decrypts(k Kustomization) bool {
	return k.Spec.Decryption != nil && k.Spec.Decryption.Provider == "sops"
}

// runKrusty is kustomize's full engine on dir: the kustomize CLI's order and plugin set, and kustomize-controller's
// load restriction (files outside the folder but inside the repository may be read).
// Nothing remote is fetched (see goOffline).
func runKrusty(fs filesys.FileSystem, dir string) (resmap.ResMap, error) {
	goOffline()
	rm, err := krusty.MakeKustomizer(&krusty.Options{
		Reorder:          krusty.ReorderOptionUnspecified,
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	}).Run(fs, dir)
	return rm, remoteError(err)
}

// objectKey names an object inside one cluster.
type objectKey struct{ kind, namespace, name string }

func (k objectKey) String() string { return strings.Join([]string{k.kind, k.namespace, k.name}, "/") }
