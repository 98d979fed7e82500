package secrets

import (
	"errors"
	"fmt"
	"strings"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	sopsdotenv "github.com/getsops/sops/v3/stores/dotenv"
	sopsini "github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

// DecryptObject decrypts one SOPS-encrypted object given as JSON, the way kustomize-controller decrypts a Secret
// after kustomize build (internal/decryptor DecryptResource): the object as JSON in, plaintext JSON out, and no MAC
// check. The controller never checks the MAC of a resource, and could not: kustomize hands it the object with its
// keys in byte order, while the MAC covers the values in the order the file was encrypted in (YAML's, where key9
// comes before key10). Checking it here would refuse Secrets Flux applies. Errors never quote a value.
func DecryptObject(doc []byte, ids *Identities) ([]byte, error) {
	store := sopsjson.NewStore(&config.JSONStoreConfig{})
	tree, err := store.LoadEncryptedFile(doc)
	if err != nil {
		return nil, errors.New("not a SOPS-encrypted object (its sops block does not load)")
	}
	dataKey, err := dataKeyOf(tree, ids)
	if err != nil {
		return nil, err
	}
	if _, err := tree.Decrypt(dataKey, aes.NewCipher()); err != nil {
		return nil, fmt.Errorf("%w (a value does not decrypt)", ErrTampered)
	}
	out, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, errors.New("emitting the decrypted object failed")
	}
	return out, nil
}

// dataKeyOf opens a file's data key with the first identity that unwraps one of its age recipients.
func dataKeyOf(tree sops.Tree, ids *Identities) ([]byte, error) {
	var recipients []string
	for _, group := range tree.Metadata.KeyGroups {
		for _, k := range group {
			ak, ok := k.(*sopsage.MasterKey)
			if !ok {
				continue
			}
			recipients = append(recipients, ak.Recipient)
			mk := *ak
			sopsage.ParsedIdentities(ids.ids).ApplyToMasterKey(&mk)
			if dk, err := mk.Decrypt(); err == nil {
				return dk, nil
			}
		}
	}
	if !ids.Available() {
		return nil, fmt.Errorf("no age key to decrypt with (set %s or %s, or give --age-key-file); the file is for %s",
			KeyFileEnv, KeyEnv, strings.Join(sortedCopy(recipients), ", "))
	}
	return nil, fmt.Errorf("%w from %s (the file is for %s)", ErrWrongKey, ids.origin, strings.Join(sortedCopy(recipients), ", "))
}

// Decryptor decrypts with the identities given what kustomize-controller decrypts with its own (internal/decryptor):
// SOPS-encrypted objects after kustomize build, and SOPS-encrypted files (a secretGenerator's sources, a patch, a
// Secret's value) in any of sops' formats.
type Decryptor struct{ ids *Identities }

// NewDecryptor decrypts with ids.
func NewDecryptor(ids *Identities) Decryptor { return Decryptor{ids: ids} }

// Object is DecryptObject.
func (d Decryptor) Object(doc []byte) ([]byte, error) { return DecryptObject(doc, d.ids) }

// File decrypts a SOPS-encrypted file read in format in and emits its plaintext in format out, as the controller's
// SopsDecryptWithFormat does: sops' stores with their default settings (config.NewStoresConfig), no MAC check (the
// controller skips it). Errors never quote the file.
func (d Decryptor) File(data []byte, in, out formats.Format) (plain []byte, err error) {
	// Malformed input can make sops panic; the controller recovers, and so does this.
	defer func() {
		if r := recover(); r != nil {
			plain, err = nil, fmt.Errorf("sops failed on the %s file", formatName(in))
		}
	}()
	tree, err := storeFor(in).LoadEncryptedFile(data)
	if err != nil {
		return nil, fmt.Errorf("not a SOPS-encrypted %s file (its sops metadata does not load)", formatName(in))
	}
	dataKey, err := dataKeyOf(tree, d.ids)
	if err != nil {
		return nil, err
	}
	if _, err := tree.Decrypt(dataKey, aes.NewCipher()); err != nil {
		return nil, fmt.Errorf("%w (a value does not decrypt)", ErrTampered)
	}
	plain, err = storeFor(out).EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("emitting the decrypted %s file as %s failed", formatName(in), formatName(out))
	}
	return plain, nil
}

// storeFor is sops' store for a format with its default settings, as its CLI (common.StoreForFormat) and
// kustomize-controller make it; anything else is binary.
func storeFor(f formats.Format) sops.Store {
	c := config.NewStoresConfig()
	switch f {
	case formats.Yaml:
		return sopsyaml.NewStore(&c.YAML)
	case formats.Json:
		return sopsjson.NewStore(&c.JSON)
	case formats.Dotenv:
		return sopsdotenv.NewStore(&c.Dotenv)
	case formats.Ini:
		return sopsini.NewStore(&c.INI)
	default:
		return sopsjson.NewBinaryStore(&c.JSONBinary)
	}
}

// formatName names a format as the controller's messages do.
func formatName(f formats.Format) string {
	switch f {
	case formats.Yaml:
		return "YAML"
	case formats.Json:
		return "JSON"
	case formats.Dotenv:
		return "dotenv"
	case formats.Ini:
		return "INI"
	default:
		return "binary"
	}
}
