package manifest

import (
	"bytes"
)

// MayHoldSecret is a cheap test that lets a file that holds no secret value skip parsing (preview's masking and
// plaintext scan) and lets validation remember the digests of the files it passes (package validate). It must never
// be wrong the other way: the kind can be written in JSON or flow style, quoted, tagged or followed by a comment, so
// every file holding the word Secret is parsed, and so is every file that could spell a word without writing it (an
// escape in a double-quoted scalar; a tag, such as !!binary U2VjcmV0, which kustomize decodes to Secret; UTF-16,
// whose ASCII comes with NUL bytes). Values also stand in kustomizations' secretGenerator literals and in patches
// (inline in kustomization files and in Flux Kustomizations), and SOPS metadata and ciphertext are never shown.
func MayHoldSecret(data []byte) bool {
	for _, word := range mayHoldWords {
		if bytes.Contains(data, word) {
			return true
		}
	}
	return bytes.ContainsAny(data, "\\!\x00")
}

// mayHoldWords: "ENC[" stands in every SOPS-encrypted file (its MAC, if no value), whose sops block is masked too.
var mayHoldWords = [][]byte{[]byte("Secret"), []byte("secretGenerator"), []byte("patch"), []byte("ENC[")}
