package spec

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"filippo.io/age"
	"k8s.io/apimachinery/pkg/util/validation"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secretTypes are the built-in Secret types kronform-gen writes, with the keys the API server requires of each (one
// of any for basic-auth). service-account-token is left out: the token controller fills it, a spec cannot.
var secretTypes = map[string][]string{
	"Opaque":                         nil,
	"kubernetes.io/basic-auth":       nil,
	"kubernetes.io/dockercfg":        {".dockercfg"},
	"kubernetes.io/dockerconfigjson": {".dockerconfigjson"},
	"kubernetes.io/ssh-auth":         {"ssh-privatekey"},
	"kubernetes.io/tls":              {"tls.crt", "tls.key"},
	"bootstrap.kubernetes.io/token":  {"token-id", "token-secret"},
}

// secrets checks each secret's identity, type and value sources. Sources are only named here: whether a variable is
// set or a file exists is a question for render time, because CI checks the tree without them.
func (v *validator) secrets(p string, c *Cluster) {
	names := map[string]string{}
	for i, s := range c.Secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, i)
		v.dnsSubdomain(sp+".name", s.Name)
		v.fileName(sp+".name", s.Name)
		v.dnsLabel(sp+".namespace", s.Namespace)
		id := s.Namespace + "/" + s.Name
		if first, ok := names[id]; ok {
			v.fail(sp+".name", "", "secret %s is already defined at %s", id, first)
		}
		names[id] = sp
		v.secretType(sp, s)
		if len(s.Data) == 0 {
			v.fail(sp+".data", "KEY: {env: VARIABLE} or KEY: {file: PATH}", "a secret needs at least one key")
		}
		for _, k := range slices.Sorted(maps.Keys(s.Data)) {
			v.secretSource(sp+".data."+k, k, s.Data[k])
		}
	}
	if len(c.Secrets) > 0 && len(c.AgeRecipients) == 0 {
		v.fail(p+".ageRecipients", "list age recipients on the cluster or in defaults.ageRecipients", "the cluster has secrets but no age recipients to encrypt them for")
	}
}

func (v *validator) secretType(sp string, s Secret) {
	required, known := secretTypes[s.Type]
	switch {
	case s.Type == "kubernetes.io/service-account-token":
		v.fail(sp+".type", "let Kubernetes create service account tokens", "type %s is filled in by the cluster, not by a spec", s.Type)
		return
	case !known && strings.HasPrefix(s.Type, "kubernetes.io/"):
		v.fail(sp+".type", "Opaque, or one of "+strings.Join(slices.Sorted(maps.Keys(secretTypes)), ", "), "unknown built-in Secret type %q", s.Type)
		return
	case !known:
		if errs := validation.IsQualifiedName(s.Type); len(errs) > 0 || !strings.Contains(s.Type, "/") {
			v.fail(sp+".type", "Opaque, a kubernetes.io/ type, or your own DOMAIN/NAME", "%q is not a Secret type", s.Type)
		}
		return
	}
	for _, k := range required {
		if _, ok := s.Data[k]; !ok {
			v.fail(sp+".data", "", "a %s secret needs the key %q", s.Type, k)
		}
	}
	if s.Type == "kubernetes.io/basic-auth" && s.Data["username"] == (SecretSource{}) && s.Data["password"] == (SecretSource{}) {
		v.fail(sp+".data", "", "a %s secret needs the key \"username\" or \"password\"", s.Type)
	}
}

func (v *validator) secretSource(kp, key string, src SecretSource) {
	if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
		v.failKey(kp, "letters, digits, '-', '_' and '.'", "%q is not a valid Secret key: %s", key, short(errs[0]))
	}
	switch {
	case src.Env != "" && src.File != "":
		v.fail(kp, "", "give env or file, not both")
	case src.Env == "" && src.File == "" && !v.undecoded(kp+".env", kp+".file"):
		v.fail(kp, "env: VARIABLE or file: PATH", "a value source is required (values never stand in the spec)")
	case src.Env != "" && !envName.MatchString(src.Env):
		// Not shown: a value that is no variable name may be the secret itself, written in the wrong place.
		v.fail(kp+".env", "letters, digits and _, not starting with a digit", "not an environment variable name (not shown: it may be the secret itself)")
	case src.File != "" && (filepath.IsAbs(src.File) || strings.HasPrefix(src.File, "~")):
		v.fail(kp+".file", "a path relative to the spec file, so the spec works from any checkout", "%q is not a relative path", src.File)
	}
}

// validAgeRecipient accepts exactly what sops can encrypt to: an age X25519 public key.
// privateKey says whether a value holds a private key: an age identity (AGE-SECRET-KEY-1..., or an age plugin's
// AGE-PLUGIN-...), in either case as bech32 allows, or a PEM private key, wherever it stands in the value (a line
// pasted with what came before it). It must never be shown.
func privateKey(s string) bool {
	u := strings.ToUpper(s)
	return strings.Contains(u, "AGE-SECRET-KEY-") || strings.Contains(u, "AGE-PLUGIN-") || strings.Contains(u, "PRIVATE KEY")
}

func validAgeRecipient(r string) bool {
	_, err := age.ParseX25519Recipient(r)
	return err == nil
}
