package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
)

// The environment variables sops itself reads, so one setting serves kronform-gen and `sops edit` alike.
const (
	KeyFileEnv = "SOPS_AGE_KEY_FILE"
	KeyEnv     = "SOPS_AGE_KEY"
)

// Identities are the age private keys that can open existing secret files. The zero value holds no key, which is
// the normal state in CI: existing files are then kept and checked only as far as their plaintext parts allow.
type Identities struct {
	ids []age.Identity
	// origin says where the keys came from, for messages: "--age-key-file keys.agekey", "SOPS_AGE_KEY".
	origin string
}

// Available says whether any key was loaded.
func (i *Identities) Available() bool { return i != nil && len(i.ids) > 0 }

// AnyListed says whether the public key of one of the identities is among recipients. Identities whose public key
// is not known (age plugins) count as listed nowhere.
func (i *Identities) AnyListed(recipients []string) bool {
	if i == nil {
		return false
	}
	for _, id := range i.ids {
		if x, ok := id.(*age.X25519Identity); ok && slices.Contains(recipients, x.Recipient().String()) {
			return true
		}
	}
	return false
}

// Recipients lists, sorted, the public keys of the identities whose public key is known (not age plugins'): what
// a message can name a key by, since the private key is never shown.
func (i *Identities) Recipients() []string {
	if i == nil {
		return nil
	}
	var out []string
	for _, id := range i.ids {
		if x, ok := id.(*age.X25519Identity); ok {
			out = append(out, x.Recipient().String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Origin names where the keys were read from.
func (i *Identities) Origin() string {
	if i == nil {
		return ""
	}
	return i.origin
}

// LoadIdentities reads the age keys from the first of: keyFile (the --age-key-file flag), the file named by
// SOPS_AGE_KEY_FILE, the keys in SOPS_AGE_KEY. None of them set means no key (not an error); one that is set but
// unreadable or holds no age key is an error, because silently falling back to "no key" would hide a typo.
// The user's ~/.config/sops/age/keys.txt is deliberately not read: what a run can verify must not depend on whose
// home folder it runs in.
func LoadIdentities(keyFile string, lookupEnv func(string) (string, bool)) (*Identities, error) {
	if keyFile != "" {
		return identitiesFromFile(keyFile, "--age-key-file "+keyFile)
	}
	if p, ok := lookupEnv(KeyFileEnv); ok && p != "" {
		return identitiesFromFile(p, KeyFileEnv+"="+p)
	}
	if k, ok := lookupEnv(KeyEnv); ok && strings.TrimSpace(k) != "" {
		return parseIdentities(strings.NewReader(k), KeyEnv)
	}
	return &Identities{}, nil
}

func identitiesFromFile(path, origin string) (*Identities, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("age key from %s: %w", origin, err)
	}
	defer f.Close()
	return parseIdentities(f, origin)
}

// parseIdentities reads age identities; the error never quotes the input, which holds private keys.
func parseIdentities(r io.Reader, origin string) (*Identities, error) {
	ids, err := age.ParseIdentities(r)
	if err != nil {
		return nil, fmt.Errorf("age key from %s: not an age identity file (one AGE-SECRET-KEY-1... per line, # comments)", origin)
	}
	return &Identities{ids: ids, origin: origin}, nil
}

// ErrKeyFileExists is returned by WriteKeyPair rather than overwrite a key.
var ErrKeyFileExists = errors.New("key file already exists")

// KeyPair is a new age key pair not written anywhere yet: its public key, and the key file (which holds the private
// key) as age-keygen writes it. Made before anything is written, it lets a caller check everything that names the
// public key first, so that a refusal leaves nothing behind.
type KeyPair struct {
	Recipient string
	File      []byte
}

// NewKeyPair generates an age key pair; now is the creation time its file records.
func NewKeyPair(now time.Time) (KeyPair, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return KeyPair{}, fmt.Errorf("generating an age key: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# created: %s\n", now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# public key: %s\n", id.Recipient())
	fmt.Fprintf(&b, "%s\n", id)
	return KeyPair{Recipient: id.Recipient().String(), File: b.Bytes()}, nil
}

// WriteFile writes the key file to path, mode 0600, never overwriting: ErrKeyFileExists if path exists.
func (k KeyPair) WriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s: %w", path, ErrKeyFileExists)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(k.File); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// WriteKeyPair creates a new age key pair in path (mode 0600, never overwriting) in the format age-keygen writes,
// and returns the public key to list as a recipient.
func WriteKeyPair(path string, now time.Time) (recipient string, err error) {
	k, err := NewKeyPair(now)
	if err != nil {
		return "", err
	}
	if err := k.WriteFile(path); err != nil {
		return "", err
	}
	return k.Recipient, nil
}
