package preview

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kronform/kronform-gen/generator/manifest"
)

// MaskFile returns a YAML file with every value that must not show masked, for showing in a diff: the values of
// every Secret document, secretGenerator literals, inline patches that may touch a Secret, the values field specs
// write into a Secret (see maskFieldSpecValues), SOPS ciphertext, and the sops block but for its recipients and
// settings. A file without any comes back unchanged; one with any is re-encoded (both sides of a diff go through the same encoder, so only real changes show). A file that does not
// parse but may hold a Secret is replaced by one line.
func MaskFile(data []byte) []byte {
	if !mayHoldSecret(data) && !bytes.Contains(data, []byte("field")) && !bytes.Contains(data, []byte("configurations")) {
		return data
	}
	docs, err := decodeAll(data)
	if err != nil {
		return []byte("# (not shown: the file is not valid YAML and may hold Secret values)\n")
	}
	masked := false
	for _, d := range docs {
		if maskDocument(d) {
			masked = true
		}
	}
	if !masked {
		return data
	}
	out, ok := encodeDocuments(docs)
	if !ok {
		return []byte("# (not shown: the file could not be re-encoded and may hold Secret values)\n")
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		// The encoder ends the file with a newline: one the file lacks must stay lacking, or a diff would not show it.
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	return out
}

// encodeDocuments writes masked documents back as one YAML stream; ok is false when one cannot be encoded, and then
// the caller shows a placeholder instead, never the documents as they were.
func encodeDocuments(docs []*kyaml.Node) (out []byte, ok bool) {
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		enc := kyaml.NewEncoder(&buf)
		if enc.Encode(d) != nil {
			return nil, false
		}
		enc.Close()
	}
	return buf.Bytes(), true
}

// maskDocument masks one document in place; it says whether it masked anything.
func maskDocument(d *kyaml.Node) bool {
	seen := map[*kyaml.Node]bool{}
	masked := false
	for _, secret := range secretObjects(d) {
		masked = maskSecretObject(secret, seen) || masked
	}
	masked = maskLiterals(d) || masked
	masked = maskPatches(d) || masked
	masked = maskFieldSpecValues(d) || masked
	masked = maskSOPSMetadata(d, seen) || masked
	return masked
}

// mayHoldSecret is manifest.MayHoldSecret, and also says yes for a file holding an object whose kind Flux's postBuild
// substitutes (see secretObjects): the word Secret may then stand only in the Flux Kustomization.
func mayHoldSecret(data []byte) bool {
	if manifest.MayHoldSecret(data) {
		return true
	}
	if !bytes.Contains(data, []byte("${")) {
		return false
	}
	docs, err := decodeAll(data)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(docs, func(d *kyaml.Node) bool { return len(secretObjects(d)) > 0 })
}

// PlaintextSecret is a Secret document with a value that is not SOPS ciphertext.
type PlaintextSecret struct {
	Document  int      `json:"document"` // 1-based, within the file
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Keys      []string `json:"keys"` // data.KEY / stringData.KEY holding plaintext; never the values
}

// PlaintextSecrets lists the Secret documents of a YAML file that hold a value in the clear: any data or stringData
// value that is not ENC[...], whether or not the document has a sops block (a wrong encrypted_regex leaves values in
// the clear beside one), and the patches of Flux Kustomizations that write one into a Secret of the tree (see
// patch.mayTouchSecret; secrets nil takes any).
func PlaintextSecrets(data []byte, secrets *SecretNames) ([]PlaintextSecret, error) {
	if !mayHoldSecret(data) {
		return nil, nil
	}
	docs, err := decodeAll(data)
	if err != nil {
		return nil, err
	}
	var out []PlaintextSecret
	for i, d := range docs {
		for _, obj := range secretObjects(d) {
			if p, ok := plaintextIn(obj, i+1); ok {
				out = append(out, p)
			}
		}
		if p, ok := generatorConfigLiterals(d, i+1); ok {
			out = append(out, p)
		}
		out = append(out, fluxPatchSecrets(d, i+1, secrets)...)
	}
	return out, nil
}

// generatorConfigLiterals reports the literals of a SecretGenerator plugin configuration (what a kustomization's
// generators read from a file, kind SecretGenerator): each is a value in the clear that kustomize writes into the
// Secret it generates.
func generatorConfigLiterals(doc *kyaml.Node, document int) (PlaintextSecret, bool) {
	r := root(doc)
	if !hasText(fields(r, "kind"), "SecretGenerator") {
		return PlaintextSecret{}, false
	}
	p := PlaintextSecret{Document: document}
	p.Namespace, p.Name = identity(r)
	i := 0
	for _, lits := range fields(r, "literals") {
		for _, l := range literalNodes(lits) {
			s, _ := text(l)
			if !emptyLiteral(s) {
				p.Keys = append(p.Keys, "literals"+literalKey(s, i))
			}
			i++
		}
	}
	slices.Sort(p.Keys)
	p.Keys = slices.Compact(p.Keys)
	return p, len(p.Keys) > 0
}

// plaintextIn reports one Secret object's values that are in the clear.
func plaintextIn(obj *kyaml.Node, document int) (PlaintextSecret, bool) {
	p := PlaintextSecret{Document: document}
	p.Namespace, p.Name = identity(obj)
	p.Keys = plaintextKeys(obj, "")
	return p, len(p.Keys) > 0
}

// identity is an object's namespace and name as written.
func identity(obj *kyaml.Node) (namespace, name string) {
	md := field(obj, "metadata")
	name, _ = text(field(md, "name"))
	namespace, _ = text(field(md, "namespace"))
	return namespace, name
}

// plaintextKeys lists, prefixed, the data and stringData keys of an object that hold a value in the clear, sorted.
// A data or stringData that is not a mapping of strings (which the API server refuses, but kustomize passes on)
// counts as one value.
func plaintextKeys(obj *kyaml.Node, prefix string) []string {
	var keys []string
	for _, f := range secretFields {
		for _, v := range fields(obj, f) {
			v = deref(v)
			if v == nil || v.Kind == kyaml.ScalarNode && v.ShortTag() == kyaml.NodeTagNull {
				continue
			}
			if v.Kind != kyaml.MappingNode {
				if inClearValue(v) {
					keys = append(keys, prefix+f)
				}
				continue
			}
			visitFields(v, map[*kyaml.Node]bool{}, func(k, val *kyaml.Node) {
				if inClearValue(val) {
					name, _ := text(k)
					if !validKey(name) {
						name = "(a key that is not valid, not shown)" // a value pasted as a key prints nowhere
					}
					keys = append(keys, prefix+f+"."+name)
				}
			})
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// inClearValue says whether a value holds anything that is not SOPS ciphertext. An empty value holds nothing to leak,
// and sops leaves it as it is: flagging it would fail check on every file generate writes for an empty value.
func inClearValue(v *kyaml.Node) bool {
	return inClearNode(v, map[*kyaml.Node]bool{})
}

// inClearNode is inClearValue, each node looked at once: aliases of aliases (ten of ten of ten...) would otherwise
// have a file of a few lines walked for ever.
func inClearNode(v *kyaml.Node, seen map[*kyaml.Node]bool) bool {
	v = deref(v)
	if v == nil || seen[v] {
		return false // one seen before held nothing in the clear, or the walk would have ended there
	}
	seen[v] = true
	if v.Kind == kyaml.ScalarNode {
		s, _ := text(v)
		return s != "" && !isEncrypted(s) && !encryptedFile(s)
	}
	for _, c := range v.Content {
		if inClearNode(c, seen) {
			return true
		}
	}
	return false
}

// encryptedFile says whether a value is a whole SOPS-encrypted file with no value in the clear (see clearFile), as it
// stands or base64-encoded (a data value): kustomize-controller decrypts such a file in a Secret's data, and
// anywhere else it stays ciphertext.
func encryptedFile(v string) bool {
	b := []byte(v)
	if d, err := base64.StdEncoding.DecodeString(v); err == nil {
		b = d
	}
	for _, marker := range sourceMarkers {
		if bytes.Contains(b, marker) {
			return !clearFile(b)
		}
	}
	return false
}

func decodeAll(data []byte) ([]*kyaml.Node, error) {
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	var docs []*kyaml.Node
	for {
		var n kyaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		docs = append(docs, &n)
	}
}
