package preview

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// A value that must not print (a variable from a Secret, or anything an expression derives from one) is substituted
// as a placeholder: a marker, the kind of mask it prints as, and an HMAC of the value. The objects of a build keep
// the placeholders; printing turns them into the mask. A constant placeholder would hide a change: both sides of a
// diff would hold the same one however the Secret changed, although Flux rewrites every object using it. The HMAC
// makes an unchanged value keep its placeholder and a changed one get another, so diff can say "values changed
// (masked)". Its key is drawn at random once per process (both sides of a diff are built in one process): no
// placeholder can be reproduced by anyone, in another run or from a guess, so it says nothing about the value even
// if it were seen. It never prints; nor does anything else derived from the value (no length, no prefix).
const (
	placeholderMarker = "KRONFORMGENMASKED"
	placeholderSOPS   = placeholderMarker + "SOPS"
	placeholderPlain  = placeholderMarker + "PLAIN"
)

// placeholderRE finds placeholders inside any text: the marker, the kind, 32 hex digits.
var placeholderRE = regexp.MustCompile(placeholderMarker + `(SOPS|PLAIN)[0-9a-f]{32}`)

var placeholderKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		// crypto/rand does not fail on any supported platform; a fixed key would make placeholders reproducible.
		panic("preview: no randomness for the placeholder key: " + err.Error())
	}
	return k
})

// placeholder is kind (placeholderSOPS or placeholderPlain) followed by an HMAC of the parts, each length-prefixed so
// that no two lists of parts run together into the same input.
func placeholder(kind string, parts ...string) string {
	m := hmac.New(sha256.New, placeholderKey())
	m.Write([]byte(kind))
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return kind + hex.EncodeToString(m.Sum(nil)[:16])
}

// hasPlaceholder says whether text holds a placeholder (or something that looks like one's start).
func hasPlaceholder(s string) bool { return strings.Contains(s, placeholderMarker) }

// placeholderKind is the kind of mask a text holding placeholders prints as: SOPS if any of them is SOPS ciphertext.
func placeholderKind(s string) string {
	if strings.Contains(s, placeholderSOPS) {
		return placeholderSOPS
	}
	return placeholderPlain
}

// maskPlaceholders replaces every placeholder in text with the mask it stands for.
func maskPlaceholders(s string) string {
	if !hasPlaceholder(s) {
		return s
	}
	return placeholderRE.ReplaceAllStringFunc(s, func(p string) string {
		if strings.HasPrefix(p, placeholderSOPS) {
			return maskSOPS
		}
		return maskPlain
	})
}

// maskValuePlaceholders masks the placeholders of every string of a JSON value (map[string]any, []any, scalars),
// keys included, and returns it.
func maskValuePlaceholders(v any) any {
	switch x := v.(type) {
	case string:
		return maskPlaceholders(x)
	case []any:
		for i := range x {
			x[i] = maskValuePlaceholders(x[i])
		}
	case map[string]any:
		var masked []string
		for k, e := range x {
			x[k] = maskValuePlaceholders(e)
			if hasPlaceholder(k) {
				masked = append(masked, k)
			}
		}
		// Keys that mask alike are one key: the value that prints first in order stays, whichever key held it,
		// so the output does not depend on the placeholders.
		for _, k := range masked {
			e := x[k]
			delete(x, k)
			mk := maskPlaceholders(k)
			if old, taken := x[mk]; !taken || fmt.Sprint(e) < fmt.Sprint(old) {
				x[mk] = e
			}
		}
	}
	return v
}

// maskedScalars lists, by path (data.token, spec.containers[0].env[1].value), the scalars of an object's JSON value
// that print masked: every value of a Secret's data and stringData, and any string holding a placeholder. Each comes
// as two strings, as built and as printed, so a diff can name a change that the mask hides. Paths print, so keys in
// them are masked too (placeholders, and a Secret's keys the API server would not take); scalars whose paths are then
// one are listed together, pair after pair.
func maskedScalars(obj map[string]any) map[string][]string {
	out := map[string][]string{}
	kind, _ := obj["kind"].(string)
	add := func(path, built, printed string) { out[path] = append(out[path], built, printed) }
	var walk func(v any, path string, secretValue bool)
	walk = func(v any, path string, secretValue bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := maskPlaceholders(k)
				if secretValue && (path == "data" || path == "stringData") && !validKey(k) {
					// A value pasted where its key belongs (see maskValue): the key prints masked too, so it is part
					// of what changes unseen.
					if v, ok := e.(string); ok {
						add(path+"."+maskPlain, k+"\x00"+v, Mask(v))
						continue
					}
					p = maskPlain
				}
				if path != "" {
					p = path + "." + p
				}
				walk(e, p, secretValue || path == "" && kind == "Secret" && isSecretField(k))
			}
		case []any:
			for i, e := range x {
				walk(e, path+"["+strconv.Itoa(i)+"]", secretValue)
			}
		case string:
			switch {
			case secretValue:
				add(path, x, Mask(x))
			case hasPlaceholder(x):
				add(path, x, maskPlaceholders(x))
			}
		default:
			if secretValue {
				add(path, fmt.Sprint(x), maskPlain)
			}
		}
	}
	walk(obj, "", false)
	return out
}

// MaskPlaceholders masks every placeholder in text; nothing kronform-gen prints may hold one (a name or a message can
// carry one a long way: a Kustomization named by a substituted variable, an error about it).
func MaskPlaceholders(b []byte) []byte {
	if !bytes.Contains(b, []byte(placeholderMarker)) {
		return b
	}
	return []byte(maskPlaceholders(string(b)))
}

// placeholderLen is the length of every placeholder, PLAIN or SOPS (one letter shorter).
var placeholderLen = len(placeholderPlain) + 32

// PlaceholderTail is the length of the longest end of text that a placeholder could start with but that is not
// one yet: a writer masking a stream holds it back until the next write says what it is.
func PlaceholderTail(b []byte) int {
	for i := max(0, len(b)-placeholderLen+1); i < len(b); i++ {
		if startsPlaceholder(b[i:]) {
			return len(b) - i
		}
	}
	return 0
}

// startsPlaceholder says whether b is the start of a placeholder, short of a whole one.
func startsPlaceholder(b []byte) bool {
	marker := []byte(placeholderMarker)
	if len(b) <= len(marker) {
		return bytes.HasPrefix(marker, b)
	}
	if !bytes.HasPrefix(b, marker) {
		return false
	}
	rest := b[len(marker):]
	for _, kind := range []string{"SOPS", "PLAIN"} {
		if len(rest) <= len(kind) {
			if strings.HasPrefix(kind, string(rest)) {
				return true
			}
			continue
		}
		if !strings.HasPrefix(string(rest), kind) {
			continue
		}
		digits := rest[len(kind):]
		if len(digits) >= 32 {
			return false
		}
		for _, c := range digits {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	return false
}
