package manifest

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var updateWording = flag.Bool("update", false, "rewrite wording.txt from the sources of the packages builds run")

// The packages whose words build errors are made of, of those preview and secrets link: kustomize and the YAML,
// JSON and JSON patch libraries it calls, sops and age (build --decrypt), Flux's envsubst (postBuild), kronform-gen's
// own preview and secrets, and the standard library's that can fail there (the tree is in memory: no system call
// does).
var (
	wordingModules = []string{
		"sigs.k8s.io/kustomize/api", "sigs.k8s.io/kustomize/kyaml", "sigs.k8s.io/yaml", "go.yaml.in/yaml/v2",
		"go.yaml.in/yaml/v3", "gopkg.in/yaml.v3", "github.com/go-errors/errors", "gopkg.in/evanphx/json-patch.v4",
		"k8s.io/apimachinery", "github.com/getsops/sops/v3", "filippo.io/age", "github.com/fluxcd/pkg/envsubst",
	}
	wordingOwn = []string{"github.com/kronform/kronform-gen/generator/preview", "github.com/kronform/kronform-gen/generator/secrets"}
	wordingStd = []string{"errors", "io/fs", "strconv", "encoding/json", "encoding/base64", "unicode/utf8", "regexp/syntax", "path/filepath"}
)

// TestWordingIsCurrent keeps wording.txt the phrases of the sources of the modules above, as go.mod pins them:
// go test ./generator/manifest -run TestWordingIsCurrent -update rewrites it.
func TestWordingIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the sources of every package a build links")
	}
	cmd := exec.Command("go", "list", "-deps", "-json", "../preview", "../secrets")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	phrases := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath string
			Dir        string
			GoFiles    []string
			Standard   bool
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Standard && slices.Contains(wordingStd, p.ImportPath):
		case p.Module != nil && (slices.Contains(wordingModules, p.Module.Path) || slices.Contains(wordingOwn, p.ImportPath)):
		default:
			continue
		}
		for _, f := range p.GoFiles {
			literals, names := stringLiterals(t, filepath.Join(p.Dir, f))
			for _, s := range literals {
				for _, ph := range phrasesOf(s) {
					phrases[ph] = true
				}
			}
			if !p.Standard {
				for _, n := range names {
					if identifier(n) {
						phrases[n] = true
					}
				}
			}
		}
	}
	var b strings.Builder
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range phrases {
			if !yield(p) {
				return
			}
		}
	}) {
		b.WriteString(p + "\n")
	}
	if *updateWording {
		if err := os.WriteFile("wording.txt", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if b.String() != wording {
		t.Errorf("wording.txt is not the phrases of the sources go.mod pins: go test ./generator/manifest -run TestWordingIsCurrent -update")
	}
}

// stringLiterals are the string literals of a Go file, but for struct tags and import paths, and the names of the
// types, constants and variables it declares, which messages print too (kustomize's builtin plugin names, kyaml's
// node kinds).
func stringLiterals(t *testing.T, file string) (literals, names []string) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.TypeSpec:
			names = append(names, n.Name.Name)
		case *ast.ValueSpec:
			for _, id := range n.Names {
				names = append(names, id.Name)
			}
		case *ast.Field:
			if n.Tag != nil {
				skip[n.Tag] = true
			}
		case *ast.ImportSpec:
			return false
		case *ast.BasicLit:
			if n.Kind == token.STRING && !skip[n] {
				if s, err := strconv.Unquote(n.Value); err == nil && len(s) <= 2000 {
					literals = append(literals, s)
				}
			}
		}
		return true
	})
	return literals, names
}

// identifier says whether a word is written as a Go identifier is, with a capital letter inside (MappingNode,
// PatchTransformer): a word alone could be any value, but hardly one of these.
var identifierWord = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*$`)

func identifier(w string) bool { return identifierWord.MatchString(w) }

// formatVerb is a fmt verb, which a message fills with something else.
var formatVerb = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\*|\d+)?(\.(\*|\d+)?)?[a-zA-Z%]`)

// phrasesOf cuts a literal at its lines and format verbs into the phrases a message may hold as written: those of
// two words or more, of a word and punctuation (yaml:, err='), or of one identifier (MalformedYAMLError). A phrase
// of one plain word alone could be any value; in a format it is kept with what follows it, as a template (see
// templateAt): the word, the text up to the verb and the text after it, tab-separated ("lstat\t \t: no such file or
// directory").
func phrasesOf(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		segs := formatVerb.Split(line, -1)
		for i, seg := range segs {
			word := strings.TrimSpace(seg)
			if !utf8Printable(word) || !strings.ContainsFunc(word, isLetter) {
				continue
			}
			punctuated := strings.ContainsFunc(word, func(r rune) bool { return r != ' ' && r < 0x80 && separator(byte(r)) })
			switch {
			case len(strings.Fields(word)) >= 2 || punctuated && len(word) >= 3 || identifier(word):
				out = append(out, word)
			case i+1 < len(segs) && !punctuated && strings.TrimRight(segs[i+1], " ") != "" && utf8Printable(segs[i+1]):
				gap := strings.TrimPrefix(strings.TrimLeft(seg, " "), word)
				out = append(out, word+"\t"+gap+"\t"+strings.TrimRight(segs[i+1], " "))
			}
		}
	}
	return out
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

func utf8Printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}
