package preview

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// mayHoldSecret is a cheap test that lets files without a Secret skip parsing; most files do not even hold the word.
// It must never be wrong the other way, or a value would go unmasked: the kind can be written in JSON or flow style,
// quoted, tagged or followed by a comment, so every file holding the word is parsed, and so is every file that could
// spell it without writing it (an escape in a double-quoted scalar; UTF-16, whose ASCII comes with NUL bytes).
func mayHoldSecret(data []byte) bool {
	return bytes.Contains(data, []byte("Secret")) || bytes.Contains(data, []byte("secretGenerator")) ||
		bytes.IndexByte(data, '\\') >= 0 || bytes.IndexByte(data, 0) >= 0
}

// MaskFile returns a YAML file with the values of every Secret document masked, for showing in a diff. A file
// without a Secret comes back unchanged; one with a Secret is re-encoded (both sides of a diff go through the same
// encoder, so only real changes show). A file that does not parse but may hold a Secret is replaced by one line.
func MaskFile(data []byte) []byte {
	if !mayHoldSecret(data) {
		return data
	}
	docs, err := decodeAll(data)
	if err != nil {
		return []byte("# (not shown: the file is not valid YAML and may hold Secret values)\n")
	}
	masked := false
	for _, d := range docs {
		for _, secret := range secretNodes(d) {
			maskNode(secret)
			masked = true
		}
		if maskLiterals(d) {
			masked = true
		}
	}
	if !masked {
		return data
	}
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		enc := kyaml.NewEncoder(&buf)
		if err := enc.Encode(d); err != nil {
			return []byte("# (not shown: the file could not be re-encoded and may hold Secret values)\n")
		}
		enc.Close()
	}
	return buf.Bytes()
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
// the clear beside one).
func PlaintextSecrets(data []byte) ([]PlaintextSecret, error) {
	if !mayHoldSecret(data) {
		return nil, nil
	}
	docs, err := decodeAll(data)
	if err != nil {
		return nil, err
	}
	var out []PlaintextSecret
	for i, d := range docs {
		for _, root := range secretNodes(d) {
			if p, ok := plaintextIn(root, i+1); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// plaintextIn reports one Secret object's values that are in the clear.
func plaintextIn(root *kyaml.Node, document int) (PlaintextSecret, bool) {
	p := PlaintextSecret{Document: document}
	if md := field(root, "metadata"); md != nil {
		if n := field(md, "name"); n != nil {
			p.Name = n.Value
		}
		if n := field(md, "namespace"); n != nil {
			p.Namespace = n.Value
		}
	}
	for _, f := range secretFields {
		m := field(root, f)
		if m == nil || m.Kind != kyaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(m.Content); j += 2 {
			// An empty value holds nothing to leak, and sops leaves it as it is: flagging it would fail check on
			// every file generate writes for an empty value.
			if v := m.Content[j+1]; v.Kind != kyaml.ScalarNode || v.Value != "" && !isEncrypted(v.Value) {
				p.Keys = append(p.Keys, f+"."+m.Content[j].Value)
			}
		}
	}
	slices.Sort(p.Keys)
	return p, len(p.Keys) > 0
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

func field(m *kyaml.Node, name string) *kyaml.Node {
	if m.Kind != kyaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i+1]
		}
	}
	return nil
}
