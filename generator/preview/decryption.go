package preview

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getsops/sops/v3/cmd/sops/formats"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/resource"
)

// decryptKey is the annotation that keeps kustomize-controller from decrypting an object, and from refusing it for
// being encrypted (internal/decryptor IsDecryptionDisabled).
var decryptKey = kustomizev1.GroupVersion.Group + "/decrypt"

// decryption does with a build's SOPS-encrypted objects what kustomize-controller does after kustomize build and
// before substitution (DecryptResource), for a Kustomization with spec.decryption (provider sops), except for objects
// annotated decrypt: disabled: an object of any kind carrying a sops block with a MAC is decrypted whole (the object
// as JSON in, JSON out, so a file that decrypts here decrypts there); in any other Secret, each value that holds a
// SOPS-encrypted file (found by its format's marker) is decrypted, in the format of its key. dec, when set, does it
// here; without it the values stay encrypted and print masked. Then, before applying, the controller refuses the
// whole Kustomization if a v1 Secret still carries a sops block without that annotation: that is an error here too,
// in its words, with or without a key, since Flux would apply nothing of it.
func decryption(b *Build, dec Decryptor) error {
	on := decrypts(b.Kustomization)
	for _, r := range b.Resources {
		if strings.EqualFold(r.GetAnnotations()[decryptKey], kustomizev1.DisabledValue) {
			continue
		}
		switch {
		case on && hasSOPSMAC(r):
			if dec == nil {
				continue // decrypted in the cluster; masked here
			}
			switch err := decryptResource(r, dec); {
			case errors.Is(err, ErrKeyless):
				b.keyless++
				b.Notes = append(b.Notes, fmt.Sprintf("%s is not decrypted: %v", fmtObject(r), err))
			case err != nil:
				return err
			default:
				b.opened++
			}
			continue
		case on && r.GetKind() == "Secret":
			if err := decryptValues(b, r, dec); err != nil {
				return err
			}
		}
		if r.GetKind() == "Secret" && r.GetApiVersion() == "v1" && hasField(r, "sops") {
			return fmt.Errorf("%s is SOPS encrypted, configuring decryption is required for this secret to be reconciled",
				fmtObject(r))
		}
	}
	return nil
}

// decryptResource decrypts one object in place.
func decryptResource(r *resource.Resource, dec Decryptor) error {
	j, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	plain, err := dec.Object(j)
	if errors.Is(err, ErrKeyless) {
		return err // the caller names the object
	}
	if err != nil {
		// The error of a failed decryption names the object, never a value.
		return fmt.Errorf("decrypting %s: %w", fmtObject(r), err)
	}
	if err := r.UnmarshalJSON(plain); err != nil {
		return fmt.Errorf("decrypted %s is not JSON", fmtObject(r))
	}
	return nil
}

// valueMarkers are the formats the controller tells a SOPS-encrypted file in a Secret's value by, in the order they
// are tried here (the controller tries them in map order; binary and JSON share a marker and load alike).
var valueMarkers = []formats.Format{formats.Json, formats.Dotenv, formats.Ini, formats.Yaml}

// decryptValues decrypts the values of a Secret that hold SOPS-encrypted files, each emitted in the format its key
// names (a key ending in .yaml gets YAML, one without an extension the binary store's plain bytes). A value that is
// not base64 is left for the API server to refuse. Without dec, a note lists the keys.
func decryptValues(b *Build, r *resource.Resource, dec Decryptor) error {
	data := r.GetDataMap()
	var encrypted []string
	changed := false
	for _, key := range slices.Sorted(maps.Keys(data)) {
		raw, err := base64.StdEncoding.DecodeString(data[key])
		if err != nil {
			continue
		}
		in, found := formats.Format(0), false
		for _, f := range valueMarkers {
			if bytes.Contains(raw, sourceMarkers[f]) {
				in, found = f, true
				break
			}
		}
		if !found {
			continue
		}
		var plain []byte
		if dec != nil {
			plain, err = dec.File(raw, in, formatForPath(key))
			if err != nil && !errors.Is(err, ErrKeyless) {
				return fmt.Errorf("failed to decrypt and format '%s/%s' Secret field '%s': %w", r.GetNamespace(), r.GetName(), key, err)
			}
		}
		if dec == nil || err != nil {
			// A value that is a whole source file the note on sources names is not named again.
			if !b.noted[string(raw)] {
				encrypted = append(encrypted, key)
				b.keyless++
			}
			continue
		}
		b.opened++
		data[key], changed = base64.StdEncoding.EncodeToString(plain), true
	}
	if len(encrypted) > 0 {
		how := "use --decrypt with the key to see them as Flux applies them"
		if dec != nil {
			how = "the age key given opens none of their recipients"
		}
		b.Notes = append(b.Notes, fmt.Sprintf("%s holds SOPS-encrypted files in %s, which kustomize-controller decrypts "+
			"(%s)", fmtObject(r), strings.Join(encrypted, ", "), how))
	}
	// The controller sets the values back even when none changed; that moves data to the end of the object, which
	// the cluster does not see, and which would only make this build differ from kustomize's.
	if changed {
		r.SetDataMap(data)
	}
	return nil
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
