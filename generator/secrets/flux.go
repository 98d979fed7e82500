package secrets

import (
	"errors"
	"fmt"
	"strings"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopsjson "github.com/getsops/sops/v3/stores/json"
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
