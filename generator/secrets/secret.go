package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/getsops/sops/v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kronform/kronform-gen/generator/manifest"
	"github.com/kronform/kronform-gen/generator/spec"
)

// NoteKind says what could not be done for a secret.
type NoteKind string

// Kinds of note.
const (
	// Unverified: the file was kept and its readable parts match the spec, but its values could not be compared
	// without the age key. Informational; the tree is as good as the run can know.
	Unverified NoteKind = "unverified"
	// NeedsKeyHolder: the spec changed the secret in a way only someone with the key (or all its sources) can write.
	// The old file was kept; the tree is not what the spec says.
	NeedsKeyHolder NoteKind = "needs-key-holder"
	// Reencrypted: without the age key, an existing file was written anew from the value sources (its recipients,
	// keys or type changed, or the ownership record does not vouch for it), so its committed values were never
	// compared with the new ones. Informational, for the reviewer: the tree is what the spec and the sources say.
	Reencrypted NoteKind = "reencrypted"
	// Unreadable: the file in the tree is not a sops-encrypted file kronform-gen can read (decrypted in place, say)
	// and not every value is at hand to write it anew. The file was kept; the tree is not what the spec says.
	Unreadable NoteKind = "unreadable"
)

// Stuck says whether a note means the tree could not be brought in line with the spec: check fails on it, generate
// writes nothing.
func (n Note) Stuck() bool { return n.Kind == NeedsKeyHolder || n.Kind == Unreadable }

// Note is one secret whose file could not be fully verified or updated. It names the secret, the file and what is
// missing, never a value.
type Note struct {
	Path   string   `json:"path"`
	Secret string   `json:"secret"` // namespace/name
	Kind   NoteKind `json:"kind"`
	Detail string   `json:"detail"`
}

func (n Note) String() string {
	return fmt.Sprintf("%s (%s): %s: %s", n.Path, n.Secret, n.Kind, n.Detail)
}

// SourceProblem is one value source that a render needed and could not read: missing (a variable not set, a file
// that does not exist) where no value can be kept from the secret's file, or unreadable; or a value the API server
// would refuse. Key is empty for a problem of the secret's values in all. It names the source, never a value.
type SourceProblem struct {
	Key    string
	Source spec.SecretSource
	Msg    string
}

// SourceError lists every value source of one secret that its render needed and could not read, sorted by key: all of
// them, so one run names every variable and file to provide. Failing that, it lists the values the API server would
// refuse.
type SourceError struct {
	Secret   string // namespace/name
	Problems []SourceProblem
}

func (e *SourceError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Msg
		if p.Key != "" {
			parts[i] = fmt.Sprintf("key %q: %s", p.Key, p.Msg)
		}
	}
	return fmt.Sprintf("secret %s: %s", e.Secret, strings.Join(parts, "; "))
}

// Request is everything needed to write one secret's file.
type Request struct {
	Secret     spec.Secret
	Recipients []string
	// Known are the age recipients listed anywhere else in the run: every cluster's ageRecipients and the recipients
	// of the secret files in the tree. A key among them that is neither one of Recipients nor of this file's belongs
	// to another cluster or file: this file is handled as without a key. A key listed nowhere is the wrong key.
	Known []string
	// Path is the file's place in the tree, for messages.
	Path string
	// Previous is the file as it stands in the tree; nil when there is none.
	Previous []byte
	// Record is what the tree's ownership record says of Previous. Without the key, only a file the record vouches
	// for (Recorded) is kept unverified; the zero value vouches for nothing.
	Record  Record
	Sources Sources
	Keys    *Identities
	// Now stamps sops' lastmodified on a newly encrypted file.
	Now time.Time
}

// Record is what the tree's ownership record (.kronform-gen/owned.json, which holds the digest of every file
// kronform-gen wrote) says of an existing secret file.
type Record int

const (
	// NotRecorded: the record does not list the file. kronform-gen did not write it, or wrote it in a run whose
	// record was undone (git checkout of the tracked files leaves a new, untracked file behind), or the record is lost.
	NotRecorded Record = iota
	// Recorded: the file is the one kronform-gen last wrote (the record holds its digest).
	Recorded
	// ChangedSince: the record holds another digest: the file was changed since kronform-gen wrote it.
	ChangedSince
)

// Result is the file to put in the tree and, when something could not be verified or updated, why.
type Result struct {
	File []byte
	Note *Note
	// ValuesChanged names, sorted, the keys present in the file and the spec whose values the sources change, as the
	// new file holds them (stringData.KEY, data.KEY): known only with the key, which opens the file. Names, never
	// values; the masked diff shows every other change (keys added or removed, type, recipients).
	ValuesChanged []string
}

// Render decides one secret's file:
//   - no file yet: encrypt the sources' values (every source must be there);
//   - with a key: decrypt the file (MAC checked), take each value from its source or, when the source is absent, from
//     the file; keep the file byte for byte when content and recipients are unchanged, re-wrap the data key when only
//     the recipients changed, encrypt anew otherwise;
//   - without a key: keep the file when the ownership record vouches for it and its readable parts (metadata, type,
//     key names, recipients) match the spec, and say the values were not verified; otherwise encrypt anew if every
//     source is there, else keep the file and say a key holder must regenerate it.
//
// A key that is none of the file's recipients but one of Recipients or Known (another cluster's, another file's) is
// handled as no key. A wrong key (listed nowhere), a tampered file or an absent source for a value nobody has are
// errors; their messages name files, secrets, keys and sources, never values.
func Render(req Request) (Result, error) {
	s := req.Secret
	id := s.Namespace + "/" + s.Name
	fail := func(format string, args ...any) (Result, error) {
		return Result{}, fmt.Errorf("secret %s (%s): "+format, append([]any{id, req.Path}, args...)...)
	}
	values, absent, unreadable := readSources(s, req.Sources)
	if req.Previous == nil {
		var missing []SourceProblem
		for _, k := range absent {
			missing = append(missing, SourceProblem{Key: k, Source: s.Data[k],
				Msg: fmt.Sprintf("cannot create %s: %s (no earlier file to keep)", req.Path, missingSource(s.Data[k]))})
		}
		if err := sourceError(id, unreadable, missing); err != nil {
			return Result{}, err
		}
		return encryptNew(s, values, req, fail)
	}
	// An unreadable source is an error whatever the file holds; with the key, those whose value the file lacks are
	// found too, so that one run names them all.
	if len(unreadable) > 0 && !req.Keys.Available() {
		return Result{}, sourceError(id, unreadable, nil)
	}
	old, err := loadEncrypted(req.Previous)
	if err != nil {
		if len(unreadable) > 0 {
			return Result{}, sourceError(id, unreadable, nil)
		}
		// Drift, not bad input: the file was most likely decrypted in place. It is written anew when every value is
		// at hand; otherwise it is kept and reported, so check can say what happened and generate writes nothing.
		if len(absent) == 0 {
			return encryptNew(s, values, req, fail)
		}
		return Result{File: req.Previous, Note: &Note{Path: req.Path, Secret: id, Kind: Unreadable,
			Detail: fmt.Sprintf("%v; restore it from git, or run kronform-gen generate with %s", err, describeAll(s, absent))}}, nil
	}
	if !req.Keys.Available() {
		return renderWithoutKey(req, old, values, absent, "", "", fail)
	}
	if !req.Keys.AnyListed(recipientsOf(old)) {
		// A key that is none of the file's recipients cannot read it. One of the spec's recipients for this file: the
		// recipients changed and the file was not re-wrapped yet (the old recipient removed in the same step as the
		// new one came). One listed elsewhere in the run: another cluster's key, or another file's. Either way this is
		// not a wrong key: the file is handled as without a key.
		var keyless, hint string
		switch {
		case req.Keys.AnyListed(req.Recipients):
			keyless = fmt.Sprintf("the age key from %s is not one of the file's recipients", req.Keys.Origin())
			hint = keyless + ": " + rotateHint
		case req.Keys.AnyListed(req.Known):
			keyless = fmt.Sprintf("the age key from %s is a recipient elsewhere in the spec or the tree, not of this file", req.Keys.Origin())
		}
		if keyless != "" {
			if len(unreadable) > 0 {
				return Result{}, sourceError(id, unreadable, nil)
			}
			return renderWithoutKey(req, old, values, absent, keyless, hint, fail)
		}
	}
	return renderWithKey(req, values, absent, unreadable, fail)
}

// wrongKeyHint says what a key listed nowhere in the run is, and what to do: it is what a key becomes once its
// recipient is removed from the spec and a run re-wraps (or encrypts anew) the files for the recipients left.
const wrongKeyHint = "a key whose recipient was removed from the spec opens no file that a run has written since " +
	"(each run re-wraps or encrypts a file for the spec's recipients alone), nor does a mistyped key file; run with " +
	"the key of one of the file's recipients, or without a key (a file that matches the spec is then kept, its " +
	"values unverified); to give a key access, list its recipient in the spec and generate with a key the " +
	"file lists"

// publicKeys names the keys by their public keys (never the private ones), for messages, and says whether it names
// several.
func publicKeys(ids *Identities) (string, bool) {
	r := ids.Recipients()
	switch len(r) {
	case 0:
		return "the age key from " + ids.Origin(), false
	case 1:
		return fmt.Sprintf("the age key from %s (public key %s)", ids.Origin(), r[0]), false
	}
	return fmt.Sprintf("the age keys from %s (public keys %s)", ids.Origin(), strings.Join(r, ", ")), true
}

// rotateHint says how a new key comes to open the files.
const rotateHint = "a new key opens the files only after a run with an old key re-wraps them: list the new recipient " +
	"beside the old ones and generate with an old key, then remove the old one"

// renderWithoutKey decides a file no key at hand opens: keyless says why, "" when the run has no key at all; hint,
// when not "", says how to proceed.
func renderWithoutKey(req Request, old sops.Tree, values map[string][]byte, absent []string, keyless, hint string, fail func(string, ...any) (Result, error)) (Result, error) {
	s := req.Secret
	id := s.Namespace + "/" + s.Name
	unread, unverified := "no age key to read them", "no age key: set "+KeyFileEnv+" or --age-key-file"
	if keyless != "" {
		unread, unverified = keyless, keyless
	}
	if hint != "" {
		hint = "; " + hint
	}
	if req.Record != Recorded {
		// Anyone can encrypt for the public recipients, so without the key a file the ownership record does not
		// vouch for (changed since kronform-gen wrote it, or never recorded) could hold any values: it is not kept
		// as if verified.
		why, mend := "changed since kronform-gen wrote it (it does not match the ownership record)", "restore it from git"
		if req.Record == NotRecorded {
			why, mend = "not in the ownership record (left from a generate that was undone, or not written by kronform-gen)",
				"delete it (or, if the record was lost, restore the record from git)"
		}
		if len(absent) == 0 {
			return reencrypted(s, values, req, why, unread, fail)
		}
		return Result{File: req.Previous, Note: &Note{Path: req.Path, Secret: id, Kind: NeedsKeyHolder,
			Detail: fmt.Sprintf("%s, and its values cannot be checked without the age key; someone with the key (or with %s) "+
				"must run kronform-gen generate, or %s%s", why, describeAll(s, absent), mend, hint)}}, nil
	}
	mismatch := structureMismatch(s, req.Recipients, old)
	if len(mismatch) == 0 {
		return Result{File: req.Previous, Note: &Note{Path: req.Path, Secret: id, Kind: Unverified,
			Detail: "kept; names, type, keys and recipients match, values not compared (" + unverified + ")"}}, nil
	}
	if len(absent) == 0 {
		// Every value is at hand: encryption needs only the public recipients.
		return reencrypted(s, values, req, strings.Join(mismatch, "; "), unread, fail)
	}
	return Result{File: req.Previous, Note: &Note{Path: req.Path, Secret: id, Kind: NeedsKeyHolder,
		Detail: fmt.Sprintf("%s; someone with the age key (or with %s) must run kronform-gen generate%s", strings.Join(mismatch, "; "), describeAll(s, absent), hint)}}, nil
}

// reencrypted writes an existing file anew from the sources without the key, and says so: the committed values could
// not be read, so nobody knows whether the new file changes them (a stale local source would go unnoticed, and a
// review diff shows every key as changed). why says what made the old file unfit to keep.
func reencrypted(s spec.Secret, values map[string][]byte, req Request, why, unread string, fail func(string, ...any) (Result, error)) (Result, error) {
	res, err := encryptNew(s, values, req, fail)
	if err != nil {
		return res, err
	}
	res.Note = &Note{Path: req.Path, Secret: s.Namespace + "/" + s.Name, Kind: Reencrypted,
		Detail: fmt.Sprintf("%s; encrypted anew from the local sources (%s), not compared with the committed values (%s): "+
			"any value may have changed; make sure the sources are current", why, describeAll(s, slices.Sorted(maps.Keys(s.Data))), unread)}
	return res, nil
}

func renderWithKey(req Request, values map[string][]byte, absent []string, unreadable []SourceProblem, fail func(string, ...any) (Result, error)) (Result, error) {
	s := req.Secret
	oldPlain, dataKey, err := decrypt(req.Previous, req.Keys)
	if errors.Is(err, ErrWrongKey) {
		// The key is a recipient of nothing in the spec or the tree: a key whose recipient was removed from the spec
		// (once a run re-wrapped the files without it), or the wrong key file. Which, the run cannot tell: the
		// message names the key's public key, so its holder can, and says what opens the file now.
		subject, plural := publicKeys(req.Keys)
		if listed, _ := FileRecipients(req.Previous); req.Keys.AnyListed(listed) {
			// The file names the key's recipient, yet the key opens no entry: an entry changed outside sops (sops'
			// MAC covers the values, not the recipients), so the file is not what a run wrote.
			return fail("%w; the file lists its recipient, but the key does not open the file's entry for it (%s): "+
				"the file's sops metadata was changed outside sops; restore it from git, or delete it for generate to "+
				"encrypt it anew from the sources", err, subject)
		}
		verb := "is no recipient"
		if plural {
			verb = "are no recipients"
		}
		return fail("%w; %s %s in the spec nor of any secret file in the tree: %s", err, subject, verb, wrongKeyHint)
	}
	if errors.Is(err, ErrTampered) {
		// Nothing of it can be trusted, nor is it written over: the way out is the user's.
		return fail("%w; restore it from git, or delete it for generate to encrypt it anew from the sources", err)
	}
	if err != nil {
		return fail("%w", err)
	}
	if len(absent)+len(unreadable) > 0 {
		oldValues, err := valuesOf(oldPlain)
		if err != nil {
			return fail("%w", err)
		}
		var missing []SourceProblem
		for _, k := range absent {
			v, ok := oldValues[k]
			if !ok {
				missing = append(missing, SourceProblem{Key: k, Source: s.Data[k],
					Msg: fmt.Sprintf("%s, and %s has no value for %q to keep", missingSource(s.Data[k]), req.Path, k)})
				continue
			}
			values[k] = v
		}
		if err := sourceError(s.Namespace+"/"+s.Name, unreadable, missing); err != nil {
			return Result{}, err
		}
	}
	if err := sourceError(s.Namespace+"/"+s.Name, valueProblems(s, values)); err != nil {
		return Result{}, err
	}
	plain, err := plaintext(s, values)
	if err != nil {
		return fail("%w", err)
	}
	newPlain, err := normalize(plain)
	if err != nil {
		return fail("%w", err)
	}
	old, _ := loadEncrypted(req.Previous) // parsed once already by Render
	if !bytes.Equal(oldPlain, newPlain) || !sameSettings(old.Metadata) {
		res, err := encryptNew(s, values, req, fail)
		if err == nil {
			res.ValuesChanged = valuesChanged(oldPlain, values)
		}
		return res, err
	}
	if slices.Equal(recipientsOf(old), sortedCopy(req.Recipients)) {
		if req.Record == Recorded {
			return Result{File: req.Previous}, nil
		}
		// The values and recipients are the spec's, but the bytes are not the ones kronform-gen last wrote (a lost
		// last newline, an edited layout) or nothing vouches for them: the same ciphertext, written as sops writes
		// it, so that check shows the edit in this file rather than only in the ownership record's digest of it.
		file, err := emitEncrypted(old)
		if err != nil {
			return fail("%w", err)
		}
		return Result{File: file}, nil
	}
	file, err := rewrap(req.Previous, dataKey, req.Recipients)
	if err != nil {
		return fail("%w", err)
	}
	return Result{File: file}, nil
}

// valuesChanged names, sorted, the keys that the decrypted file and values both hold with different values, where
// the new file holds them (see Result.ValuesChanged).
func valuesChanged(oldPlain []byte, values map[string][]byte) []string {
	old, err := valuesOf(oldPlain)
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if v, ok := old[k]; !ok || bytes.Equal(v, values[k]) {
			continue
		}
		if text(values[k]) {
			out = append(out, "stringData."+k)
		} else {
			out = append(out, "data."+k)
		}
	}
	return out
}

func encryptNew(s spec.Secret, values map[string][]byte, req Request, fail func(string, ...any) (Result, error)) (Result, error) {
	if err := sourceError(s.Namespace+"/"+s.Name, valueProblems(s, values)); err != nil {
		return Result{}, err
	}
	plain, err := plaintext(s, values)
	if err != nil {
		return fail("%w", err)
	}
	file, err := encrypt(plain, req.Recipients, req.Now)
	if err != nil {
		return fail("%w", err)
	}
	return Result{File: file}, nil
}

// readSources reads every value whose source is there, and lists the keys whose source is absent and the sources that
// could not be read, each sorted by key.
func readSources(s spec.Secret, src Sources) (map[string][]byte, []string, []SourceProblem) {
	if src == nil {
		src = NoSources{}
	}
	values := map[string][]byte{}
	var absent []string
	var unreadable []SourceProblem
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		v, err := src.Value(s.Data[k])
		switch {
		case errors.Is(err, ErrAbsent):
			absent = append(absent, k)
		case err != nil:
			unreadable = append(unreadable, SourceProblem{Key: k, Source: s.Data[k], Msg: err.Error()})
		default:
			values[k] = v
		}
	}
	return values, absent, unreadable
}

// missingSource says that a source is absent: a variable not set or empty (which counts as absent), a file that does
// not exist.
func missingSource(src spec.SecretSource) string {
	if src.Env != "" {
		return "environment variable " + src.Env + " is not set or is empty"
	}
	return "file " + src.File + " does not exist"
}

// sourceError is the error for the problems found, sorted by key; nil when there are none.
func sourceError(secret string, problems ...[]SourceProblem) error {
	all := slices.Concat(problems...)
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b SourceProblem) int { return strings.Compare(a.Key, b.Key) })
	return &SourceError{Secret: secret, Problems: all}
}

func describeAll(s spec.Secret, keys []string) string {
	var out []string
	for _, k := range keys {
		out = append(out, Describe(s.Data[k]))
	}
	return strings.Join(out, ", ")
}

// text says whether a value can stand in stringData and come back byte for byte: valid UTF-8 of printable
// characters, newlines and tabs. Anything else goes to data, base64-encoded, as the API server stores it.
func text(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// jsonKeys are the keys the API server parses as a JSON object in a Secret of the type.
var jsonKeys = map[string]string{
	string(corev1.SecretTypeDockerConfigJson): corev1.DockerConfigJsonKey,
	string(corev1.SecretTypeDockercfg):        corev1.DockerConfigKey,
}

// valueProblems lists the values the API server would refuse in a Secret of this type (in what the spec cannot say
// about them: keys per type are spec validation's), sorted by key; one about the values in all has no key. The secrets
// Kustomization applies with force, which deletes and recreates a Secret whose update is refused as invalid; values
// that would fail the create as well must never get that far, or the old Secret would be gone. They are bad input,
// reported at their source as a missing one is. The messages name keys and sources, never values.
func valueProblems(s spec.Secret, values map[string][]byte) []SourceProblem {
	var out []SourceProblem
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total > corev1.MaxSecretSize {
		out = append(out, SourceProblem{Msg: fmt.Sprintf("the values add up to %d bytes, more than the %d (1 MiB) a Kubernetes Secret holds", total, corev1.MaxSecretSize)})
	}
	if k, ok := jsonKeys[s.Type]; ok {
		if v, ok := values[k]; ok {
			var obj map[string]any
			if json.Unmarshal(v, &obj) != nil { // the parser's error can quote the value
				out = append(out, SourceProblem{Key: k, Source: s.Data[k],
					Msg: fmt.Sprintf("%s: not a JSON object, which the API server requires of a %s Secret", Describe(s.Data[k]), s.Type)})
			}
		}
	}
	return out
}

// plaintext is the Secret manifest with the header, in memory only.
func plaintext(s spec.Secret, values map[string][]byte) ([]byte, error) {
	stringData := map[string]string{}
	data := map[string]string{}
	for k, v := range values {
		if text(v) {
			stringData[k] = string(v)
		} else {
			data[k] = base64.StdEncoding.EncodeToString(v)
		}
	}
	obj := map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"name": s.Name, "namespace": s.Namespace},
		"type":       s.Type,
	}
	if len(stringData) > 0 {
		obj["stringData"] = stringData
	}
	if len(data) > 0 {
		obj["data"] = data
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return nil, errors.New("encoding the Secret failed")
	}
	return append([]byte(manifest.Header), b...), nil
}

// valuesOf reads the values back out of a decrypted Secret.
func valuesOf(plain []byte) (map[string][]byte, error) {
	var obj struct {
		Data       map[string]string `json:"data"`
		StringData map[string]string `json:"stringData"`
	}
	if err := yaml.Unmarshal(plain, &obj); err != nil {
		return nil, errors.New("the decrypted file is not a Secret manifest")
	}
	out := map[string][]byte{}
	for k, v := range obj.StringData {
		out[k] = []byte(v)
	}
	for k, v := range obj.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("the decrypted file's data key %q is not base64", k)
		}
		out[k] = b
	}
	return out, nil
}

// structureMismatch compares what a file shows without its key (everything but the values, and its recipients) with
// what the spec asks for, and names each difference. Key names, metadata, type and recipients are not secret.
func structureMismatch(s spec.Secret, recipients []string, old sops.Tree) []string {
	var out []string
	want, err := plaintext(s, nil)
	if err == nil {
		want, err = normalize(want)
	}
	wantKeys := slices.Sorted(maps.Keys(s.Data))
	var rest sops.TreeBranch
	var haveKeys []string
	for _, item := range old.Branches[0] {
		if k, _ := item.Key.(string); k == "data" || k == "stringData" {
			if b, ok := item.Value.(sops.TreeBranch); ok {
				for _, kv := range b {
					if name, ok := kv.Key.(string); ok {
						haveKeys = append(haveKeys, name)
					}
				}
			}
			continue
		}
		rest = append(rest, item)
	}
	slices.Sort(haveKeys)
	have, herr := emitPlain(sops.TreeBranches{rest})
	if err != nil || herr != nil || !bytes.Equal(want, have) {
		out = append(out, "the header, apiVersion, kind, metadata or type differ from the spec")
	}
	if !slices.Equal(wantKeys, haveKeys) {
		out = append(out, fmt.Sprintf("the spec has keys [%s], the file [%s]", strings.Join(wantKeys, " "), strings.Join(haveKeys, " ")))
	}
	if got := recipientsOf(old); !slices.Equal(got, sortedCopy(recipients)) {
		out = append(out, fmt.Sprintf("the spec's recipients [%s] differ from the file's [%s]", strings.Join(sortedCopy(recipients), " "), strings.Join(got, " ")))
	}
	if !sameSettings(old.Metadata) {
		out = append(out, "the file was encrypted with other sops settings than encrypted_regex "+EncryptedRegex)
	}
	return out
}
