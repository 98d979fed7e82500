package manifest

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
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

// Redacted is how a quoted fragment of an error message prints once redacted.
const Redacted = "(not shown)"

// Redact takes out of an error message of kustomize or a YAML parser about a file what may be part of the file's
// contents, which may be a secret value: an unknown anchor's name (*the-value), a scalar a type error quotes, a
// literal a generator refuses, a patch or node dumped whole, an object printed in Go syntax. Quoted fragments are
// kept only when keep says they name something harmless, such as a file of the tree. What is left is the message's
// own words.
func Redact(msg string, keep func(string) bool) string {
	if i := strings.Index(msg, "node contents:"); i >= 0 {
		msg = msg[:i] + "node contents: " + Redacted
	}
	msg = redactObjects(msg)
	msg = unquotedValue.ReplaceAllString(msg, "${1}"+Redacted+"${2}")
	msg = backquoted.ReplaceAllString(msg, Redacted)
	msg = redactQuoted(msg, keep)
	return msg
}

var (
	// unquotedValue are kustomize's messages that print a value without quotes.
	unquotedValue = regexp.MustCompile(`(invalid literal source |has invalid utf8 bytes : )[^\n]*?(, expected key=value|$)`)
	backquoted    = regexp.MustCompile("`[^`]*`")
)

// redactQuoted takes out quoted fragments, on one line each: a double-quoted Go string (escapes included), or text
// in single quotes that open after a space or an opening sign and close before anything but a letter or digit (so
// that an apostrophe is none).
func redactQuoted(msg string, keep func(string) bool) string {
	word := func(i int) bool {
		r, _ := utf8.DecodeRuneInString(msg[i:])
		return unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	opens := func(i int) bool { // a single quote at i opens a quotation: it follows a space or an opening sign
		if i == 0 {
			return true
		}
		r, _ := utf8.DecodeLastRuneInString(msg[:i])
		return unicode.IsSpace(r) || strings.ContainsRune("=([{,:", r)
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c != '"' && c != '\'' || c == '\'' && !opens(i) {
			b.WriteByte(c)
			continue
		}
		end := -1
		for j := i + 1; j < len(msg) && msg[j] != '\n'; j++ {
			if c == '"' && msg[j] == '\\' {
				j++
				continue
			}
			if msg[j] == c && (c == '"' || j+1 == len(msg) || !word(j+1)) {
				end = j
				break
			}
		}
		if end < 0 {
			b.WriteByte(c)
			continue
		}
		if inner := msg[i+1 : end]; keep != nil && keep(inner) {
			b.WriteString(msg[i : end+1])
		} else {
			b.WriteString(Redacted)
		}
		i = end
	}
	return b.String()
}

// redactObjects takes out objects printed in Go syntax after "in object ", braces balanced.
func redactObjects(msg string) string {
	const lead = "in object "
	var b strings.Builder
	for {
		i := strings.Index(msg, lead)
		if i < 0 || i+len(lead) >= len(msg) || msg[i+len(lead)] != '{' {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i+len(lead)] + Redacted)
		depth, j := 0, i+len(lead)
		for ; j < len(msg); j++ {
			if msg[j] == '{' {
				depth++
			} else if msg[j] == '}' {
				if depth--; depth == 0 {
					j++
					break
				}
			}
		}
		msg = msg[j:]
	}
}
