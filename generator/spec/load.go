package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Model is a loaded spec: the defaulted, validated Spec plus what is needed to point back into the file.
type Model struct {
	Spec
	// File is the spec's path as the user named it; Dir is the folder relative file sources resolve against.
	File string
	Dir  string
	// Positions maps a field path (clusters[0].nodes[1].name) to where its value stands in the file.
	Positions map[string]Pos
	// Presets are the policy presets the spec could name, after --templates overrides.
	Presets map[string]HostPolicy
	// Warnings are things that are allowed but probably not meant; the CLI prints them.
	Warnings Problems
	// nulls are the paths written as null, which count as left out.
	nulls map[string]bool
	// keys are where the keys of free-form mappings stand, by the path of their value (labels.zone): a problem with
	// a key points at the key.
	keys map[string]Pos
	// presetSources are where each preset was read; fromPreset says, by host policy path, what of a policy came from
	// its preset.
	presetSources map[string]presetSource
	fromPreset    map[string]presetParts
	// unsound are the clusters a model LoadPartial gives with problems did not load whole (see Sound); all nil: every
	// cluster did.
	unsound    map[int]bool
	allUnsound bool
}

// Sound says whether the i-th cluster loaded whole, so that what looks at a loaded cluster (the lints) may look at
// it: every cluster of a model Load returns. Of one LoadPartial returns with problems, a cluster no problem stands
// in, when none stands outside every cluster either (the defaults, the presets, the file as a whole), which every
// cluster takes from.
func (m *Model) Sound(i int) bool { return !m.allUnsound && !m.unsound[i] }

// presetParts are what a resolved host policy took from its preset: the first rules of each direction, and perhaps
// the node selector.
type presetParts struct {
	source presetSource
	rules  map[string]int // direction (ingress, ...) -> how many of its first rules are the preset's
	nodes  bool
}

// written says the field at path stands in the file with a value (null counts as left out).
func (m *Model) written(path string) bool {
	_, ok := m.Positions[path]
	return ok && !m.nulls[path]
}

// writtenRule is written for a field of a host policy's rule, which may have come from its preset: there the preset's
// file says (where null is not told apart, so it counts as written).
func (m *Model) writtenRule(path string) bool {
	_, positions, _, shown, inPreset := m.locate(path)
	if !inPreset {
		return m.written(shown)
	}
	_, ok := positions[shown]
	return ok
}

// Options change how a spec is loaded.
type Options struct {
	// Templates is a folder whose presets/*.yaml override or add to the embedded presets.
	Templates string
}

// LoadFile reads, decodes, defaults and validates the spec at path. Bad input yields Problems listing everything wrong.
func LoadFile(path string, opts Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data, opts)
}

// Load is LoadFile for bytes already read; name is used in messages and to resolve relative paths.
func Load(name string, data []byte, opts Options) (*Model, error) {
	m, err := LoadPartial(name, data, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// LoadPartial is Load, but for a spec with problems it also returns the model as far as it loaded, when the file
// could be read whole: its clusters that loaded whole are Sound, so that what is found only after loading (the
// lints) can be reported for them in the same run. Nothing else may use such a model.
func LoadPartial(name string, data []byte, opts Options) (*Model, error) {
	// Problems in the presets are reported with the spec's, in one run.
	presets, sources, err := loadPresets(opts.Templates)
	var presetProblems Problems
	if err != nil && !errors.As(err, &presetProblems) {
		return nil, err
	}
	// About one value per 16 bytes of YAML; sizing the map once spares a fleet's spec its rehashing.
	m := &Model{File: name, Dir: filepath.Dir(name), Positions: make(map[string]Pos, len(data)/16), Presets: presets,
		presetSources: sources}
	d := &decoder{file: name, pos: m.Positions, nulls: map[string]bool{}, keys: map[string]Pos{}}
	m.nulls, m.keys = d.nulls, d.keys
	d.decodeYAML(data, reflect.ValueOf(&m.Spec).Elem())
	if d.fatal {
		return nil, append(presetProblems, d.problems...).Sorted()
	}
	// Validation runs even after decoding problems, so that one run reports everything; a field that failed to decode
	// is left zero, and what validation would say about that zero value is dropped as noise, in the spec and in the
	// presets alike.
	v := &validator{m: m, failed: d.failed}
	v.run()
	failedIn := map[string]map[string]bool{name: d.failed}
	for _, src := range sources {
		failedIn[src.file] = src.failed
	}
	problems := append(presetProblems, d.problems...)
	for _, p := range v.problems {
		if !coveredBy(p.Path, failedIn[p.File]) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		m.unsoundFrom(problems)
		return m, problems.Sorted()
	}
	return m, nil
}

// unsoundFrom marks the clusters the problems stand in as not loaded whole, and every cluster when one stands
// outside them, or in another file (a preset).
func (m *Model) unsoundFrom(problems Problems) {
	m.unsound = map[int]bool{}
	for _, p := range problems {
		rest, ok := strings.CutPrefix(p.Path, "clusters[")
		idx, _, closed := strings.Cut(rest, "]")
		i, err := strconv.Atoi(idx)
		if p.File != m.File || !ok || !closed || err != nil {
			m.allUnsound = true
			return
		}
		m.unsound[i] = true
	}
}

// coveredBy says whether a validation problem is about a field (or inside a field) that already failed to decode. It
// walks up the path, so its cost is the path's depth, however many problems there are.
func coveredBy(path string, failed map[string]bool) bool {
	for {
		if failed[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return false
		}
		path = path[:i]
	}
}

// scalarShorthand lets a type that is normally a mapping also be written as a single scalar (cidrs: [10.0.0.0/8]).
type scalarShorthand interface {
	fromScalar(value string)
}

// scalarValue is a type written as one scalar of several kinds (an ICMP type: a number or a name), never as a mapping.
// setScalar takes a scalar's tag and text and says whether they make a value; expected says what would.
type scalarValue interface {
	setScalar(tag, value string) bool
	expected() string
}

// decoder turns a YAML node tree into Go values strictly: unknown fields, wrong types and duplicate keys are
// problems, and decoding goes on after each one so that all of them are reported at once.
type decoder struct {
	file     string
	pos      map[string]Pos
	nulls    map[string]bool // paths written as null; nil when nobody asks
	keys     map[string]Pos  // where the keys of free-form mappings (labels, secret data, values) stand; nil: not kept
	problems Problems
	failed   map[string]bool // paths whose value could not be decoded (fail)
	// fatal is set when the document could not be read whole (a syntax error, an alias bomb): nothing to validate.
	fatal bool
	// aliased counts values decoded through aliases; aliasDepth is how many aliases the current value is inside.
	aliased, aliasDepth int
	// secret is how many secret value sources the current value is inside: a scalar there may be the secret itself,
	// written in place of {env: ...} or {file: ...}, and messages never show it.
	secret int
	// secretNodes are the nodes written inside a secret value source, whether decoding reached them or not (a list,
	// an unknown field, a repeated key in its place): a scalar among them may be the secret itself, and an alias that
	// brings one where no secret source stands would bring it where messages quote it (secretAlias).
	secretNodes map[*yaml.Node]bool
	// via is the alias (or merge key's value) the current value was reached through, outermost first, and viaPath
	// where it stands; nil when the value is written where it is decoded.
	via     *yaml.Node
	viaPath string
	// viaRefused are the aliases already reported by secretAlias: one problem per alias, however much it brings.
	viaRefused map[*yaml.Node]bool
}

// markSecret records n and everything written inside it as written inside a secret value source.
func (d *decoder) markSecret(n *yaml.Node) {
	if d.secretNodes == nil {
		d.secretNodes = map[*yaml.Node]bool{}
	}
	if d.secretNodes[n] {
		return
	}
	d.secretNodes[n] = true
	for _, c := range n.Content {
		d.markSecret(c) // an alias node is marked, not what it brings: that was written elsewhere
	}
}

// carriesSecret says a scalar written inside a secret value source is n or inside it, through aliases too.
func (d *decoder) carriesSecret(n *yaml.Node, seen map[*yaml.Node]bool) bool {
	if len(d.secretNodes) == 0 || seen[n] {
		return false // a mapping that merges itself is reported as such
	}
	seen[n] = true
	switch n.Kind {
	case yaml.AliasNode:
		return d.carriesSecret(n.Alias, seen)
	case yaml.ScalarNode:
		return d.secretNodes[n]
	}
	for _, c := range n.Content {
		if d.carriesSecret(c, seen) {
			return true
		}
	}
	return false
}

// secretAlias reports, where the alias stands (path), that an alias brings a value written in a secret value source
// where no secret source stands: the value may be the secret itself, which the checks of the field it lands in would
// quote. One problem per alias. An alias that brings a source to another source ({file: ...} written once, used
// twice) is not one: it is decoded as a source again.
func (d *decoder) secretAlias(alias *yaml.Node, path string) {
	if d.viaRefused == nil {
		d.viaRefused = map[*yaml.Node]bool{}
	}
	d.markFailed(path)
	if d.viaRefused[alias] {
		return
	}
	d.viaRefused[alias] = true
	d.report(alias, path, "write the value here, and give the secret's from env: or file:",
		"an alias to a value written in a secret's data (not shown: it may be the secret itself)")
}

// through sets via, unless the value is already inside an alias; the returned func restores it.
func (d *decoder) through(alias *yaml.Node, path string) func() {
	if d.via != nil {
		return func() {}
	}
	d.via, d.viaPath = alias, path
	return func() { d.via, d.viaPath = nil, "" }
}

var secretSourceType = reflect.TypeFor[SecretSource]()

// describe names what a node is for a message: kindName, except that a scalar inside a secret value source, or one
// holding a private key (an age key file's line pasted as its recipients), is not shown.
func (d *decoder) describe(n *yaml.Node) string {
	if (d.secret > 0 || d.secretNodes[n]) && n.Kind == yaml.ScalarNode {
		return "a value (not shown: it may be the secret itself, and values never stand in the spec)"
	}
	if n.Kind == yaml.ScalarNode && privateKey(n.Value) {
		return "a private key (not shown)"
	}
	return kindName(n)
}

// fail reports that the value at path could not be decoded: it is left zero, and what validation says about it, or
// about anything inside it, is dropped as noise.
func (d *decoder) fail(n *yaml.Node, path, hint, format string, args ...any) {
	d.report(n, path, hint, format, args...)
	d.markFailed(path)
}

func (d *decoder) markFailed(path string) {
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[path] = true
}

// report reports a problem that leaves the value at path decoded (a repeated key, an unknown field, a key that is
// no string next to good ones): validation still speaks about it.
func (d *decoder) report(n *yaml.Node, path, hint, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Pos: Pos{n.Line, n.Column}, Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// decodeYAML decodes the single YAML document in data into v. Empty documents are skipped, as kubectl and kustomize
// skip them: a file ending in --- (an empty last document) holds one spec, and a file of --- alone holds none.
func (d *decoder) decodeYAML(data []byte, v reflect.Value) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc *yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Before the spec, nothing can be read; after it, a broken second document is still one too many.
			d.problems = append(d.problems, yamlSyntaxProblem(d.file, data, err))
			d.fatal = doc == nil
			break
		}
		if emptyDocument(&n) {
			continue
		}
		if doc != nil {
			d.fail(&n, "", "keep one spec per file; list several clusters under clusters:", "a second YAML document is not allowed")
			break
		}
		doc = &n
	}
	if doc == nil {
		if !d.fatal {
			d.problems = append(d.problems, Problem{File: d.file, Pos: Pos{1, 1}, Msg: "the file is empty"})
			d.fatal = true
		}
		return
	}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		// Not a spec at all, and perhaps not meant to be read: a file holding one value (a token, a key) is not
		// quoted back, since the spec's path can come from a pull request (a link to a file of the CI runner).
		d.fail(root, "", "a spec starts with apiVersion: kronform.dev/v1alpha1, kind: ClusterSpec and clusters:",
			"the spec must be a mapping; this file holds %s", describeRoot(root))
		d.fatal = true
		return
	}
	d.decode(root, "", v)
}

// emptyDocument says a document holds nothing: yaml.v3 gives a --- with nothing after it (or only comments) as a
// null scalar with no text and no style. A written null (~, null, !!null) has text or a style, and is a value.
func emptyDocument(n *yaml.Node) bool {
	if n.Kind != yaml.DocumentNode {
		return false
	}
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return len(n.Content) == 1 && c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == "" && c.Style == 0
}

// describeRoot names what a document holds without its contents.
func describeRoot(n *yaml.Node) string {
	if s := shapeName(n); s != "" {
		return s
	}
	return "a single value (not shown)"
}

// yamlSyntaxProblem turns a syntax error of yaml.v3 into a positioned problem. yaml.v3's "line N" is where the
// construct around the error began (a block mapping lines above it), or nothing at all (an unknown alias), and it
// gives no column. The exact place is found with yaml.v3 itself: the shortest prefix of the file that fails with the
// same message ends at the character where the parser stopped, since it reads the stream in order. The search starts
// at yaml.v3's line, which is never past the error, and widens from there; it parses at most syntaxSearchBudget bytes
// in all, so that a very large file is not parsed for long: then the problem names the lines the error is within.
func yamlSyntaxProblem(file string, data []byte, err error) Problem {
	p := locateSyntaxError(file, data, err)
	if q, ok := unclosedQuote(file, data, p); ok {
		return q
	}
	return p
}

// unclosedQuote reports an error found after a quote left open at the opening quote. YAML lets a quoted value span
// lines, so an unclosed quote reads on, often for many lines, until another quote character closes it (an apostrophe
// in a comment), and the parser stops only somewhere after that. The quote was open where the error's line begins
// when that much of the file fails as a quoted value does at the end of the stream, at a quote character.
func unclosedQuote(file string, data []byte, p Problem) (Problem, bool) {
	if p.Pos.Line < 2 || p.Pos.Col == 0 {
		return p, false
	}
	prefix := data[:lineOffset(data, p.Pos.Line, 1)]
	err := firstSyntaxError(prefix)
	if err == nil {
		return p, false
	}
	if msg, _ := syntaxMessage(err); msg != "found unexpected end of stream" {
		return p, false
	}
	open := locateSyntaxError(file, prefix, err)
	if open.Pos.Col == 0 || open.Pos.Line >= p.Pos.Line {
		return p, false
	}
	if at := lineOffset(prefix, open.Pos.Line, open.Pos.Col); at >= len(prefix) || prefix[at] != '"' && prefix[at] != '\'' {
		return p, false
	}
	return Problem{File: file, Pos: open.Pos, Hint: "close it on its own line",
		Msg: fmt.Sprintf("invalid YAML: this quote is not closed on its line, so the quoted value runs on to line %d, and YAML stops at %d:%d: %s",
			p.Pos.Line, p.Pos.Line, p.Pos.Col, strings.TrimPrefix(p.Msg, "invalid YAML: "))}, true
}

// lineOffset is the byte offset of a 1-based line and character column of data, counted as yaml.v3 counts them
// (a line ends with \n, \r\n or \r); len(data) past its end.
func lineOffset(data []byte, line, col int) int {
	i := 0
	for l := 1; l < line && i < len(data); i++ {
		if data[i] == '\n' || data[i] == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			l++
		}
	}
	for c := 1; c < col && i < len(data); c++ {
		_, size := utf8.DecodeRune(data[i:])
		i += size
	}
	return i
}

// locateSyntaxError is yamlSyntaxProblem without the search for an unclosed quote.
func locateSyntaxError(file string, data []byte, err error) Problem {
	msg, reported := syntaxMessage(err)
	p := Problem{File: file, Msg: "invalid YAML: " + msg}
	s := &prefixSearch{data: data, msg: msg, passes: -1, fails: len(data)}
	var ends []int // ends[i] is the offset just past line i; YAML ends a line with \n, \r\n or \r
	for i, b := range data {
		if b == '\n' || b == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	// The line: the first whose end makes the prefix fail (the whole file does).
	line := -1
	alias, isAlias := strings.CutPrefix(msg, "unknown anchor '")
	alias = "*" + strings.TrimSuffix(alias, "' referenced")
	if isAlias {
		// Only a line that names the alias can be it: try those, in order.
		for i, from := 0, 0; i < len(ends) && line < 0 && !s.exhausted; i++ {
			if bytes.Contains(data[from:ends[i]], []byte(alias)) && s.fail(ends[i]) {
				line = i
			}
			from = ends[i]
		}
	}
	if line < 0 {
		line = firstFrom(min(max(reported-2, 0), len(ends)-1), len(ends)-1, func(i int) bool { return s.fail(ends[i]) })
	}
	if s.exhausted {
		first := sort.SearchInts(ends, s.passes+1) // the line after the longest prefix known to pass
		last := sort.SearchInts(ends, s.fails)     // the line that ends the shortest prefix known to fail
		first = min(max(first, reported-2), last)  // the search took the lines before yaml.v3's as passing
		p.Pos.Line = first + 1
		if last > first {
			p.Msg += fmt.Sprintf(" (in lines %d-%d)", first+1, last+1)
		}
		return p
	}
	start := 0
	if line > 0 {
		start = ends[line-1]
	}
	text := string(data[start:ends[line]])
	p.Pos.Line = line + 1
	// The column, counted in characters as yaml.v3 counts them.
	if isAlias {
		// The message names the alias whole; a part of it names another one. Find it in the line instead.
		if i := strings.Index(text, alias); i >= 0 {
			p.Pos.Col = utf8.RuneCountInString(text[:i]) + 1
		}
		return p
	}
	var offsets []int // offsets[c] is the byte offset just past the line's first c+1 characters
	for i := range text {
		if i > 0 {
			offsets = append(offsets, start+i)
		}
	}
	offsets = append(offsets, ends[line])
	col := firstFrom(0, len(offsets)-1, func(c int) bool { return s.fail(offsets[c]) })
	if !s.exhausted {
		p.Pos.Col = col + 1
		if r, _ := utf8.DecodeRuneInString(text[offsetIn(text, col):]); r == '\t' {
			p.Hint = "indent with spaces: YAML does not allow tabs there"
		}
	}
	return p
}

// syntaxSearchBudget bounds how many bytes yamlSyntaxProblem parses in all: every parse a 200 KB spec needs, a
// few of a fleet's megabytes. A variable for tests.
var syntaxSearchBudget = 8 << 20

// prefixSearch parses prefixes of data for the error msg, within syntaxSearchBudget.
type prefixSearch struct {
	data          []byte
	msg           string
	spent         int
	exhausted     bool
	passes, fails int // the longest prefix known not to fail, the shortest known to fail
}

// fail says the first n bytes fail with the message. Past the budget it parses nothing and says yes, and the caller
// falls back on passes and fails.
func (s *prefixSearch) fail(n int) bool {
	if s.spent+n > syntaxSearchBudget {
		s.exhausted = true
	}
	if s.exhausted {
		return true
	}
	s.spent += n
	err := firstSyntaxError(s.data[:n])
	m := ""
	if err != nil {
		m, _ = syntaxMessage(err)
	}
	if m == s.msg {
		s.fails = min(s.fails, n)
		return true
	}
	s.passes = max(s.passes, n)
	return false
}

// firstFrom is the smallest i in [lo, hi] for which f holds, taking f(hi) as true and f as monotone: it probes lo,
// lo+1, lo+3, lo+7, ... and then bisects the last step, so an answer near lo costs few probes.
func firstFrom(lo, hi int, f func(int) bool) int {
	below, step := lo-1, 1 // f(below) is false (or below is out of range)
	for i := lo; i < hi; i = below + step {
		if f(i) {
			hi = i
			break
		}
		below, step = i, step*2
	}
	return below + 1 + sort.Search(hi-below-1, func(k int) bool { return f(below + 1 + k) })
}

// offsetIn is the byte offset of the character at index c of text.
func offsetIn(text string, c int) int {
	for i := range text {
		if c == 0 {
			return i
		}
		c--
	}
	return len(text)
}

// syntaxMessage is a yaml.v3 error without its "yaml: " and "line N: " prefixes, and N (0 when there is none).
func syntaxMessage(err error) (msg string, line int) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				return rest[i+2:], n
			}
		}
	}
	return msg, 0
}

// firstSyntaxError reads every document of data, as decodeYAML does, and returns the first error.
func firstSyntaxError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// shapeName names a node that is not a scalar; "" for a scalar.
func shapeName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return ""
}

// kindName names a node for a message, a scalar with its value.
func kindName(n *yaml.Node) string {
	if s := shapeName(n); s != "" {
		return s
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the number " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!null":
		return "null"
	case "!!timestamp":
		return "the timestamp " + n.Value
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return fmt.Sprintf("%q tagged %s", n.Value, n.Tag)
	}
	return n.Value
}

// indexPath is path[i].
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// maxAliased bounds how many values a spec may get through aliases, so a "billion laughs" spec is refused instead of
// eating the machine. Values written out count for nothing: a large fleet is bounded by its file's size.
const maxAliased = 100000

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if d.aliasDepth > 0 {
		d.aliased++
		if d.aliased == maxAliased {
			d.fail(n, path, "", "the spec expands to more than %d values through aliases", maxAliased)
			d.fatal = true // what was decoded is a fragment; validating it would only add noise
		}
		if d.aliased >= maxAliased {
			return
		}
	}
	if n.Kind == yaml.AliasNode {
		defer d.through(n, path)()
		// The Go types do not nest into themselves, so an alias cannot recurse forever; it can only multiply.
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
		n = n.Alias
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if v.Type() == secretSourceType {
		d.secret++
		defer func() { d.secret-- }()
		d.markSecret(n)
	}
	if d.secret == 0 && d.via != nil && (n.Kind == yaml.ScalarNode && d.secretNodes[n] ||
		v.Kind() == reflect.Interface && d.carriesSecret(n, map[*yaml.Node]bool{})) {
		d.secretAlias(d.via, d.viaPath)
		d.markFailed(path) // left zero, as a value that did not decode
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		if d.nulls != nil {
			d.nulls[path] = true
		}
		return // an explicit null leaves the zero value, as an absent key would
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, path, v.Elem())
		return
	}
	// Free-form values keep yaml.v3's reading (see checkFreeForm); every other scalar is read as an editor reads it.
	written := n
	if v.Kind() != reflect.Interface {
		n = asCore(n)
	}
	if v.Kind() == reflect.Struct {
		if s, ok := v.Addr().Interface().(scalarValue); ok {
			if n.Kind != yaml.ScalarNode || !s.setScalar(n.Tag, n.Value) {
				d.fail(n, path, numberHint(written), "expected %s, got %s", s.expected(), d.describe(n))
			}
			return
		}
	}
	if n.Kind == yaml.ScalarNode && v.Kind() == reflect.Struct {
		if s, ok := v.Addr().Interface().(scalarShorthand); ok && n.Tag == "!!str" {
			s.fromScalar(n.Value)
			return
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "", "expected a list, got %s", d.describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, indexPath(path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			hint := ""
			switch {
			case n.Kind != yaml.ScalarNode:
			case n.Style&yaml.TaggedStyle != 0 && (d.secret > 0 || plainTag(n.Value) == "!!str"):
				hint = "drop the tag " + n.Tag // quoting would keep it
			case n.Style&yaml.TaggedStyle != 0:
				hint = fmt.Sprintf("drop the tag %s and quote it: %q", n.Tag, n.Value)
			case d.secret == 0:
				hint = fmt.Sprintf("quote it: %q", n.Value)
			}
			d.fail(n, path, hint, "expected a string, got %s", d.describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		i, ok := wholeNumber(n.Tag, n.Value)
		if n.Kind != yaml.ScalarNode || !ok {
			d.fail(n, path, numberHint(written), "expected a whole number, got %s", d.describe(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		// YAML writes true as true, True or TRUE (the JSON an editor validates against the schema reads each as true);
		// a tag (!!bool yes) makes no boolean of what YAML does not read as one.
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "write true or false", "expected true or false, got %s", d.describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Interface:
		if !d.checkMerges(n, path, map[*yaml.Node]bool{}) {
			d.markFailed(path) // reported where it stands, as merge keys are in the spec's own fields
			return
		}
		x, err := decodeAny(n)
		if err != nil {
			d.fail(n, path, "", "%v", err)
			return
		}
		if !d.checkFreeForm(n, path) {
			d.markFailed(path) // reported where it stands; the value as a whole is not checked further
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(normalizeAny(x)))
		}
	default:
		panic(fmt.Sprintf("spec: no decoding for %s at %s", v.Type(), path))
	}
}

// checkFreeForm reports what free-form values (Helm values) would not carry as written into the HelmRelease, whose
// values are JSON: duplicate keys, which yaml.v3 accepts into interface{} silently, and scalars that decoding would
// change. It says whether the value is fine. Aliases are checked where their anchor stands.
func (d *decoder) checkFreeForm(n *yaml.Node, path string) bool {
	ok := true
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			kpath := joinPath(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				d.report(k, kpath, "", "duplicate key %q (first at line %d)", k.Value, first.Line)
			}
			seen[k.Value] = k
			if k.Kind == yaml.ScalarNode && k.Tag != "!!str" && k.Tag != "!!merge" {
				// normalizeAny names a key by its decoded value: 0x1F would become "31", null "<nil>".
				var x any
				if err := k.Decode(&x); err == nil && fmt.Sprint(x) != k.Value {
					d.report(k, kpath, fmt.Sprintf("quote it: %q", k.Value), "the key %s would be written as %q", k.Value, fmt.Sprint(x))
					ok = false
				}
			}
			ok = d.checkFreeForm(n.Content[i+1], kpath) && ok
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ok = d.checkFreeForm(c, indexPath(path, i)) && ok
		}
	case yaml.ScalarNode:
		if msg, hint := changedScalar(n); msg != "" {
			d.report(n, path, hint, "%s", msg)
			return false
		}
	}
	return ok
}

// checkMerges reports the merge keys of free-form values that yaml.v3 would refuse with an error naming neither the
// key nor where it stands: one whose value is not a mapping or a list of mappings, or brings in the mapping that
// holds it; and the aliases that bring in a value written in a secret's data (secretAlias). It says whether there was
// none. holding are the mappings n is inside. Aliases are checked where their anchor stands.
func (d *decoder) checkMerges(n *yaml.Node, path string, holding map[*yaml.Node]bool) bool {
	ok := true
	switch n.Kind {
	case yaml.AliasNode:
		if d.carriesSecret(n, map[*yaml.Node]bool{}) {
			d.secretAlias(n, path)
			return false
		}
	case yaml.MappingNode:
		holding[n] = true
		defer delete(holding, n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!merge" {
				ok = d.checkMerges(val, joinPath(path, k.Value), holding) && ok
				continue
			}
			sources := []*yaml.Node{val}
			if val.Kind == yaml.SequenceNode {
				sources = val.Content
			}
			for _, src := range sources {
				if src.Kind == yaml.AliasNode && d.carriesSecret(src, map[*yaml.Node]bool{}) {
					d.secretAlias(src, joinPath(path, "<<"))
					ok = false
					continue
				}
				if src.Kind == yaml.AliasNode {
					src = src.Alias
				}
				switch {
				case src.Kind == yaml.MappingNode && holding[src]:
					d.report(src, joinPath(path, "<<"), "", "a merge key brings in the mapping that holds it")
					ok = false
				case src.Kind != yaml.MappingNode:
					d.report(src, joinPath(path, "<<"), "", "a merge key takes a mapping or a list of mappings, got %s", d.describe(src))
					ok = false
				}
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ok = d.checkMerges(c, indexPath(path, i), holding) && ok
		}
	}
	return ok
}

// changedScalar says how decoding a free-form scalar into JSON-shaped values would change it; "" when it would not.
func changedScalar(n *yaml.Node) (msg, hint string) {
	quote := fmt.Sprintf("quote it to keep the text: %q", n.Value)
	switch n.Tag {
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return "", ""
		}
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return fmt.Sprintf("%s has no JSON form, and HelmRelease values are JSON", n.Value), quote
		case !strings.ContainsAny(n.Value, ".eE"): // a whole number past 64 bits, which YAML reads as a float
			return fmt.Sprintf("%s is too large for a whole number and would be written as %s", n.Value, strconv.FormatFloat(f, 'g', -1, 64)), quote
		}
	case "!!binary":
		var s string
		if err := n.Decode(&s); err == nil && !utf8.ValidString(s) {
			return "binary data that is not UTF-8 text has no JSON form, and HelmRelease values are JSON",
				"write the base64 text as a string without !!binary, and decode it in the chart (b64dec)"
		}
	case "!!timestamp":
		var t time.Time
		if err := n.Decode(&t); err == nil {
			if b, err := json.Marshal(t); err == nil && strings.Trim(string(b), `"`) != n.Value {
				return fmt.Sprintf("%s is read as a timestamp and would be written as %s", n.Value, b), quote
			}
		}
	}
	return "", ""
}

// The loader reads a scalar written plain (without quotes or a tag) as YAML 1.2's core schema does, which is how
// editors read the spec to check it against the JSON schema (yaml-language-server's default). yaml.v3 reads more
// as numbers and timestamps: YAML 1.1's 6_443, 0b1010 and 0X1A as whole numbers (and 017 as 15), 2001-12-14 as a
// timestamp. To an editor those are strings (and 017 is 17), so they are to the loader.
var (
	coreInt   = regexp.MustCompile(`^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$`)
	coreFloat = regexp.MustCompile(`^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$`)
)

// coreTag is the tag YAML 1.2's core schema gives a scalar written plain.
func coreTag(value string) string {
	switch value {
	case "", "~", "null", "Null", "NULL":
		return "!!null"
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	}
	switch {
	case coreInt.MatchString(value):
		return "!!int"
	case coreFloat.MatchString(value):
		return "!!float"
	}
	return "!!str"
}

// asCore is a scalar with the tag the loader judges it by: for one written plain, the core schema's (see coreTag); a
// quoted scalar, a block scalar and one with a tag of its own keep theirs.
func asCore(n *yaml.Node) *yaml.Node {
	const notPlain = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
	// yaml.v3 gives a plain scalar the core schema's booleans and nulls; only its numbers, timestamps and merge keys
	// can be something else to YAML 1.2, and a fleet's spec has many scalars. Its strings are the core schema's too,
	// but for the numbers it cannot hold: a hexadecimal or octal one past 64 bits, a float past float64's range.
	if n.Kind != yaml.ScalarNode || n.Style&notPlain != 0 || n.Tag == "!!bool" || n.Tag == "!!null" ||
		n.Tag == "!!str" && !pastYAMLv3sNumbers(n.Value) {
		return n
	}
	if tag := coreTag(n.Value); tag != n.Tag {
		c := *n
		c.Tag = tag
		return &c
	}
	return n
}

// pastYAMLv3sNumbers says a string yaml.v3 reads may be a number too large for it, as cheaply as it can be told: one
// starting as a number does, and long enough to overflow (0x and 17 digits) or with an exponent (1e400).
func pastYAMLv3sNumbers(value string) bool {
	return value != "" && strings.IndexByte("0123456789+-.", value[0]) >= 0 && (len(value) > 18 || strings.ContainsAny(value, "eE"))
}

// wholeNumber reads a number in YAML 1.2's spellings, and says whether it is a whole number an int holds: 6443,
// 0o14453, 0x192B and 6443.0 are one port to an editor checking the spec against the schema (JSON keeps no spelling,
// and 6443.0 is an integer to JSON Schema), and so they are to the loader.
func wholeNumber(tag, value string) (int, bool) {
	if tag != "!!int" && tag != "!!float" {
		return 0, false
	}
	var i int64
	var err error
	switch {
	case strings.HasPrefix(value, "0o") && coreInt.MatchString(value):
		i, err = strconv.ParseInt(value[2:], 8, 64)
	case strings.HasPrefix(value, "0x") && coreInt.MatchString(value):
		i, err = strconv.ParseInt(value[2:], 16, 64)
	case coreInt.MatchString(value):
		i, err = strconv.ParseInt(value, 10, 64)
	case coreFloat.MatchString(value):
		f, ferr := strconv.ParseFloat(value, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		i = int64(f)
	default:
		return 0, false
	}
	return int(i), err == nil && int64(int(i)) == i
}

// numberHint says how to write a whole number that yaml.v3 reads as one and YAML 1.2 does not (6_443, 0b1010): an
// editor takes it for a string, and so does the loader. "" for anything else, a fraction (6_443.5) included: yaml.v3
// would decode it into an int cut off (6443), a number the spec does not say.
func numberHint(written *yaml.Node) string {
	var x any
	if written.Kind != yaml.ScalarNode || asCore(written) == written || written.Decode(&x) != nil {
		return ""
	}
	var i int64
	switch n := x.(type) {
	case int:
		i = int64(n)
	case int64:
		i = n
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return ""
		}
		i = int64(n)
	default:
		return ""
	}
	return fmt.Sprintf("write %d: %s is a number only to YAML 1.1, and editors read YAML 1.2", i, written.Value)
}

// plainTag is the tag YAML gives value written plain, without a tag.
func plainTag(value string) string {
	return (&yaml.Node{Kind: yaml.ScalarNode, Value: value}).ShortTag()
}

// normalizeAny makes free-form values JSON-shaped (map[string]any) so they merge and marshal predictably.
// decodeAny is yaml.v3's decoding into interface{} for free-form values (Helm values), made linear: yaml.v3 checks a
// mapping's keys for duplicates pair by pair, which a mapping of many thousand keys turns into minutes (duplicates
// are reported by checkDuplicates instead). Mappings and sequences of plain nodes are walked here, string scalars
// read as they stand; every other scalar, and every collection that holds an alias, a merge key, a key that is not
// a string or a tag of its own, goes to yaml.v3, so its semantics and its limits on aliases apply there.
func decodeAny(n *yaml.Node) (any, error) {
	switch {
	case n.Kind == yaml.MappingNode && n.Tag == "!!map" && plainChildren(n, true):
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := decodeAny(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case n.Kind == yaml.SequenceNode && n.Tag == "!!seq" && plainChildren(n, false):
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := decodeAny(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		return n.Value, nil
	}
	var x any
	err := n.Decode(&x)
	return x, err
}

// plainChildren says a collection holds no alias and, for a mapping, only string keys (a merge key is tagged
// !!merge, so it is not one).
func plainChildren(n *yaml.Node, mapping bool) bool {
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode || mapping && i%2 == 0 && (c.Kind != yaml.ScalarNode || c.Tag != "!!str") {
			return false
		}
	}
	return true
}

func normalizeAny(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			t[k] = normalizeAny(v)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[fmt.Sprint(k)] = normalizeAny(v)
		}
		return m
	case []any:
		for i, v := range t {
			t[i] = normalizeAny(v)
		}
		return t
	}
	return x
}

func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "", "expected a mapping, got %s", d.describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]*yaml.Node{}
	content, merged, from := d.withMerges(n, path)
	for i := 0; i+1 < len(content); i += 2 {
		k, val := content[i], content[i+1]
		kpath := joinPath(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.report(k, path, "", "expected a string key, got %s", d.describe(k))
			continue
		}
		if first, ok := seen[k.Value]; ok {
			if i < merged {
				d.report(k, kpath, "", "duplicate key %q (first at line %d)", k.Value, first.Line)
			}
			continue
		}
		seen[k.Value] = k
		if d.keys != nil {
			d.keys[kpath] = Pos{k.Line, k.Column}
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decodeMerged(i >= merged, mergedBy(from, merged, i), path, val, kpath, elem)
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
}

type fieldInfo struct {
	index int
	name  string
}

// fieldsByType keeps structFields' answer per type: the spec's few types are decoded thousands of times in a fleet.
var fieldsByType sync.Map // reflect.Type -> map[string]fieldInfo, never written to after it is stored

func structFields(t reflect.Type) map[string]fieldInfo {
	if f, ok := fieldsByType.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	fields := map[string]fieldInfo{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = fieldInfo{index: i, name: name}
	}
	fieldsByType.Store(t, fields)
	return fields
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "", "expected a mapping, got %s", d.describe(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]*yaml.Node{}
	content, merged, from := d.withMerges(n, path)
	for i := 0; i+1 < len(content); i += 2 {
		k, val := content[i], content[i+1]
		kpath := joinPath(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			// Not a field named "" (a list or mapping has no value of its own): said as decodeMap says it.
			d.report(k, path, "", "expected a string key, got %s", d.describe(k))
			continue
		}
		// A key that names no field of a secret value source may be the secret itself ({hunter2} is a mapping whose
		// one key is the value): it is not shown, in the message or in the path.
		_, known := fields[k.Value]
		hidden := d.secret > 0 && !known
		if first, ok := seen[k.Value]; ok {
			switch {
			case i >= merged:
			case hidden:
				d.report(k, path, "", "duplicate key (not shown: it may be the secret itself) (first at line %d)", first.Line)
			default:
				d.report(k, kpath, "", "duplicate key %q (first at line %d)", k.Value, first.Line)
			}
			continue
		}
		seen[k.Value] = k
		f, ok := fields[k.Value]
		if !ok {
			if hidden {
				d.report(k, path, suggest(k.Value, fields), "unknown field (not shown: it may be the secret itself)")
				continue
			}
			d.report(k, kpath, suggest(k.Value, fields), "unknown field %q", k.Value)
			continue
		}
		d.decodeMerged(i >= merged, mergedBy(from, merged, i), path, val, kpath, v.Field(f.index))
	}
}

// withMerges is a mapping's content with the keys its merge keys (<<: *anchor, or a list of them) bring in appended,
// as YAML's merge key type says: a key the mapping writes itself wins, and so does an earlier merged mapping over a
// later one. merged is where the merged pairs start; a merged key that repeats is dropped, not a duplicate. from
// holds, for each merged pair, the merge key's value (or item of its list) that brought it.
func (d *decoder) withMerges(n *yaml.Node, path string) (content []*yaml.Node, merged int, from []*yaml.Node) {
	return d.mergeChain(n, path, map[*yaml.Node]bool{n: true})
}

// mergeChain is withMerges, with the mappings whose merges are being expanded: an anchor is known from the start of
// its node, so a mapping can merge itself (&a {<<: *a}), which would never end.
func (d *decoder) mergeChain(n *yaml.Node, path string, chain map[*yaml.Node]bool) (content []*yaml.Node, merged int, from []*yaml.Node) {
	var sources []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			sources = append(sources, n.Content[i+1])
			continue
		}
		content = append(content, n.Content[i], n.Content[i+1])
	}
	if sources == nil {
		return n.Content, len(n.Content), nil
	}
	merged = len(content)
	var add func(src, by *yaml.Node, top bool)
	add = func(src, by *yaml.Node, top bool) {
		if d.secret == 0 && src.Kind == yaml.AliasNode && src.Alias.Kind == yaml.ScalarNode && d.secretNodes[src.Alias] {
			d.secretAlias(src, joinPath(path, "<<"))
			return
		}
		if src.Kind == yaml.AliasNode {
			src = src.Alias
		}
		switch {
		case src.Kind == yaml.MappingNode && chain[src]:
			d.report(src, joinPath(path, "<<"), "", "a merge key brings in the mapping that holds it")
		case src.Kind == yaml.MappingNode:
			chain[src] = true
			inner, _, _ := d.mergeChain(src, path, chain)
			delete(chain, src)
			content = append(content, inner...)
			for range len(inner) / 2 {
				from = append(from, by)
			}
		case src.Kind == yaml.SequenceNode && top:
			for _, s := range src.Content {
				add(s, s, false)
			}
		default:
			d.report(src, joinPath(path, "<<"), "", "a merge key takes a mapping or a list of mappings, got %s", d.describe(src))
		}
	}
	for _, src := range sources {
		add(src, src, true)
	}
	return content, merged, from
}

// decodeMerged decodes a value a merge key brought in as an aliased one: it counts toward the alias limit, and was
// reached through by (at the mapping's path) when merged.
func (d *decoder) decodeMerged(merged bool, by *yaml.Node, path string, n *yaml.Node, kpath string, v reflect.Value) {
	if merged {
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
		defer d.through(by, joinPath(path, "<<"))()
	}
	d.decode(n, kpath, v)
}

// mergedBy is what brought the pair at i of withMerges' content; nil for a pair written in the mapping.
func mergedBy(from []*yaml.Node, merged, i int) *yaml.Node {
	if i < merged {
		return nil
	}
	return from[(i-merged)/2]
}

// suggest names the known field closest to a misspelt one, or lists them all when none is close.
func suggest(got string, fields map[string]fieldInfo) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	best, bestDist := "", 1<<30
	for _, name := range names {
		if dist := editDistance(strings.ToLower(got), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if bestDist <= max(2, len(got)/3) {
		return "did you mean " + best + "?"
	}
	return "known fields: " + strings.Join(names, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
