package secrets

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/logging"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
)

// EncryptedRegex leaves apiVersion, kind and metadata readable, so kustomize, Flux and a reviewer can see what a file
// is without the key.
const EncryptedRegex = "^(data|stringData)$"

// Indent is the YAML indentation of every file kronform-gen writes.
const Indent = 2

func init() {
	// sops logs through logrus to stderr; some of its messages quote what they failed on. Nothing it logs may reach
	// the user's terminal, so its loggers are silenced; every failure comes back as an error this package words.
	for _, l := range logging.Loggers {
		l.SetOutput(io.Discard)
	}
}

func store() *sopsyaml.Store { return sopsyaml.NewStore(&config.YAMLStoreConfig{Indent: Indent}) }

// normalize runs plaintext YAML through the sops store, so content from a Secret object and content decrypted from a
// file compare in one form. The error does not wrap the parser's, which can quote the input.
func normalize(plain []byte) ([]byte, error) {
	branches, err := store().LoadPlainFile(plain)
	if err != nil {
		return nil, errors.New("the secret's plaintext is not valid YAML")
	}
	return emitPlain(branches)
}

func emitPlain(branches sops.TreeBranches) ([]byte, error) {
	b, err := store().EmitPlainFile(branches)
	if err != nil {
		return nil, errors.New("emitting the secret's plaintext failed")
	}
	return b, nil
}

// encrypt makes a new sops file: a fresh data key, wrapped for every recipient.
func encrypt(plain []byte, recipients []string, now time.Time) ([]byte, error) {
	branches, err := store().LoadPlainFile(plain)
	if err != nil {
		return nil, errors.New("the secret's plaintext is not valid YAML")
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("drawing a data key: %w", err)
	}
	group, err := wrap(dataKey, recipients)
	if err != nil {
		return nil, err
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			EncryptedRegex: EncryptedRegex,
			Version:        version.Version,
			KeyGroups:      []sops.KeyGroup{group},
		},
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, errors.New("encrypting the values failed")
	}
	// sops writes lastmodified in RFC 3339, whole seconds; the MAC is bound to exactly that text.
	tree.Metadata.LastModified = now.UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, errors.New("encrypting the MAC failed")
	}
	return emitEncrypted(tree)
}

func emitEncrypted(tree sops.Tree) ([]byte, error) {
	b, err := store().EmitEncryptedFile(tree)
	if err != nil {
		return nil, fmt.Errorf("emitting the encrypted file: %w", err)
	}
	return b, nil
}

// wrap encrypts the data key for each recipient, in sorted order so the sops block reads the same every time.
func wrap(dataKey []byte, recipients []string) (sops.KeyGroup, error) {
	var group sops.KeyGroup
	for _, r := range sortedCopy(recipients) {
		mk, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			return nil, fmt.Errorf("age recipient %s: %w", r, err)
		}
		if err := mk.Encrypt(dataKey); err != nil {
			return nil, fmt.Errorf("wrapping the data key for %s: %w", r, err)
		}
		group = append(group, mk)
	}
	return group, nil
}

// rewrap gives an unchanged file a new recipient list: the data key, the encrypted values, lastmodified and the MAC
// stay, so only the sops.age block changes and the file still decrypts with sops -d.
func rewrap(file []byte, dataKey []byte, recipients []string) ([]byte, error) {
	tree, err := loadEncrypted(file)
	if err != nil {
		return nil, err
	}
	group, err := wrap(dataKey, recipients)
	if err != nil {
		return nil, err
	}
	tree.Metadata.KeyGroups = []sops.KeyGroup{group}
	return emitEncrypted(tree)
}

// errCorrupt wraps every reason a file cannot be read as sops output.
var errCorrupt = errors.New("not a readable sops-encrypted file")

// loadEncrypted parses a sops file and checks it is one kronform-gen can manage: one document, one key group of age
// keys only.
func loadEncrypted(file []byte) (sops.Tree, error) {
	tree, err := store().LoadEncryptedFile(file)
	if err != nil {
		return sops.Tree{}, fmt.Errorf("%w: %s", errCorrupt, corruptReason(err))
	}
	if len(tree.Branches) != 1 {
		return sops.Tree{}, fmt.Errorf("%w: it holds %d YAML documents, not 1", errCorrupt, len(tree.Branches))
	}
	if len(tree.Metadata.KeyGroups) != 1 {
		return sops.Tree{}, fmt.Errorf("%w: it uses %d key groups; kronform-gen writes one group of age keys", errCorrupt, len(tree.Metadata.KeyGroups))
	}
	for _, k := range tree.Metadata.KeyGroups[0] {
		if _, ok := k.(*sopsage.MasterKey); !ok {
			return sops.Tree{}, fmt.Errorf("%w: it is encrypted for a %s key; kronform-gen manages age keys only", errCorrupt, k.TypeToIdentifier())
		}
	}
	return tree, nil
}

// corruptReason keeps only the sops metadata errors, which name fields; YAML parser errors can quote the file.
func corruptReason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "sops metadata not found") || strings.Contains(msg, "metadata") && !strings.Contains(msg, "yaml:") {
		return msg
	}
	return "its YAML or sops block does not parse"
}

// recipientsOf lists a loaded file's age recipients, sorted.
func recipientsOf(tree sops.Tree) []string {
	var out []string
	for _, k := range tree.Metadata.KeyGroups[0] {
		out = append(out, k.(*sopsage.MasterKey).Recipient)
	}
	slices.Sort(out)
	return out
}

// FileRecipients lists the age recipients of a sops file kronform-gen can manage, sorted.
func FileRecipients(file []byte) ([]string, error) {
	tree, err := loadEncrypted(file)
	if err != nil {
		return nil, err
	}
	return recipientsOf(tree), nil
}

// ErrWrongKey means the keys given open none of a file's recipients.
var ErrWrongKey = errors.New("none of the age keys can decrypt this file")

// ErrTampered means a file's MAC does not match its contents.
var ErrTampered = errors.New("MAC mismatch: the file was changed outside sops or is corrupt")

// decrypt opens a sops file with the identities and verifies its MAC. It returns the plaintext (normalized) and the
// data key, both for in-memory use only.
func decrypt(file []byte, ids *Identities) (plain, dataKey []byte, err error) {
	tree, err := loadEncrypted(file)
	if err != nil {
		return nil, nil, err
	}
	if dataKey, err = dataKeyOf(tree, ids); err != nil {
		return nil, nil, err
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (a value does not decrypt)", ErrTampered)
	}
	fileMac, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || fileMac != mac {
		return nil, nil, ErrTampered
	}
	plain, err = emitPlain(tree.Branches)
	if err != nil {
		return nil, nil, err
	}
	return plain, dataKey, nil
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// sameSettings says whether a file was encrypted with the settings kronform-gen writes, so keeping it keeps them.
func sameSettings(m sops.Metadata) bool {
	return m.EncryptedRegex == EncryptedRegex && m.UnencryptedRegex == "" && m.EncryptedSuffix == "" &&
		m.UnencryptedSuffix == "" && m.EncryptedCommentRegex == "" && m.UnencryptedCommentRegex == "" &&
		!m.MACOnlyEncrypted && m.ShamirThreshold <= 1
}
