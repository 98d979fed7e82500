package preview

import (
	"encoding/base64"
	"fmt"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/resource"
)

// decryptKey is the annotation that keeps kustomize-controller from decrypting an object, and from refusing it for
// being encrypted (internal/decryptor IsDecryptionDisabled).
var decryptKey = kustomizev1.GroupVersion.Group + "/decrypt"

// decryption does with a build's SOPS-encrypted objects what kustomize-controller does. With spec.decryption
// (provider sops) it decrypts, after kustomize build and before substitution, every object of any kind carrying a
// sops block with a MAC (DecryptResource), unless annotated decrypt: disabled: decrypt, when set, does it here (the
// object as JSON in, JSON out, so a file that decrypts here decrypts there); without it the values stay encrypted
// and print masked. Then, before applying, the controller refuses the whole Kustomization if a v1 Secret still
// carries a sops block without that annotation: that is an error here too, in its words, with or without a key,
// since Flux would apply nothing of it.
func decryption(b *Build, decrypt func([]byte) ([]byte, error)) error {
	d := b.Spec.Decryption
	decrypts := d != nil && d.Provider == "sops"
	for _, r := range b.Resources {
		if strings.EqualFold(r.GetAnnotations()[decryptKey], kustomizev1.DisabledValue) {
			continue
		}
		if decrypts && r.GetKind() == "Secret" && !hasField(r, "sops") && holdsSOPSFiles(r) {
			b.Notes = append(b.Notes, fmt.Sprintf("%s is generated from SOPS-encrypted files, which kronform-gen "+
				"does not decrypt: Flux decrypts them before kustomize build, so its keys and values differ from "+
				"what is shown", fmtObject(r)))
			continue
		}
		if decrypts && hasSOPSMAC(r) {
			if decrypt == nil {
				continue // decrypted in the cluster; masked here
			}
			if err := decryptResource(r, decrypt); err != nil {
				return err
			}
			continue
		}
		if r.GetKind() == "Secret" && r.GetApiVersion() == "v1" && hasField(r, "sops") {
			return fmt.Errorf("%s is SOPS encrypted, configuring decryption is required for this secret to be reconciled",
				fmtObject(r))
		}
	}
	return nil
}

// decryptResource decrypts one object in place.
func decryptResource(r *resource.Resource, decrypt func([]byte) ([]byte, error)) error {
	j, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	plain, err := decrypt(j)
	if err != nil {
		// The error of a failed decryption names the object, never a value.
		return fmt.Errorf("decrypting %s: %w", fmtObject(r), err)
	}
	if err := r.UnmarshalJSON(plain); err != nil {
		return fmt.Errorf("decrypted %s is not JSON", fmtObject(r))
	}
	return nil
}

// sopsMarkers are what the controller looks for to tell a SOPS file in a Secret's value, by format (binary and JSON
// share one; dotenv, INI, YAML), plus one line of an encrypted dotenv file read by a secretGenerator's envs.
var sopsMarkers = []string{`"mac": "ENC[`, "sops_mac=ENC[", "[sops]", "mac: ENC["}

// holdsSOPSFiles says whether a Secret holds values that a secretGenerator read from SOPS-encrypted files: a whole
// file (files:) or the lines of an encrypted dotenv file (envs:, which brings keys such as sops_mac).
func holdsSOPSFiles(r *resource.Resource) bool {
	for k, v := range r.GetDataMap() {
		dec, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			continue
		}
		if strings.HasPrefix(k, "sops_") && isEncrypted(string(dec)) {
			return true
		}
		for _, m := range sopsMarkers {
			if strings.Contains(string(dec), m) {
				return true
			}
		}
	}
	return false
}

// hasSOPSMAC is the controller's test for a SOPS-encrypted object (isSOPSEncryptedResource): a sops block with a mac.
func hasSOPSMAC(r *resource.Resource) bool {
	sops := r.Field("sops")
	return !sops.IsNilOrEmpty() && !sops.Value.Field("mac").IsNilOrEmpty()
}

// hasField is the controller's test for a sops block on a Secret (IsEncryptedSecret): the field is there at all.
func hasField(r *resource.Resource, name string) bool { return r.Field(name) != nil }

// fmtObject names an object as the controller's messages do (ssa FmtUnstructured): Kind/namespace/name, or Kind/name.
func fmtObject(r *resource.Resource) string {
	if ns := r.GetNamespace(); ns != "" {
		return r.GetKind() + "/" + ns + "/" + r.GetName()
	}
	return r.GetKind() + "/" + r.GetName()
}
