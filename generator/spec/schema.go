package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/invopop/jsonschema"
)

// SchemaID is where editors find the schema; the example spec points yaml-language-server at the committed copy.
const SchemaID = "https://kronform.dev/schemas/v1alpha1/cluster-spec.schema.json"

// JSONSchema describes the spec, generated from the Go types so it can never disagree with the loader: unknown fields
// are rejected (additionalProperties: false), fields without a default are required, and a field that may be left out
// may also be written null, which the loader reads as left out. What the schema cannot say (a range of numbers
// inside a string, one field against another) only the loader checks; TestSchemaAgreesWithLoader holds the two to
// the same verdicts.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: false}
	s := r.Reflect(&Spec{})
	s.ID = SchemaID
	s.Title = "kronform-gen cluster spec"
	fleetFlux(s)
	if rp, ok := s.Properties.Get("repositoryPath"); ok {
		rp.Pattern = noUnseenPattern() // as flux.path: a folder whose name no listing shows
	}
	nullable(s)
	for _, d := range s.Definitions {
		nullable(d)
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(escapeUnseen(out), '\n'), nil
}

// fleetFlux gives defaults.flux a definition of its own without path, which is per cluster: the loader refuses a
// fleet-wide one.
func fleetFlux(s *jsonschema.Schema) {
	flux := s.Definitions["Flux"]
	props := jsonschema.NewProperties()
	for p := flux.Properties.Oldest(); p != nil; p = p.Next() {
		if p.Key != "path" {
			props.Set(p.Key, p.Value)
		}
	}
	fleet := *flux
	fleet.Properties = props
	fleet.Description = "Flux settings every cluster inherits; flux.path is set per cluster."
	s.Definitions["FleetFlux"] = &fleet
	s.Definitions["FleetDefaults"].Properties.Set("flux", &jsonschema.Schema{Ref: "#/$defs/FleetFlux"})
}

// nullable lets every property of s, and of the schemas inside it, that is not required be null, as the loader reads
// null as left out (an empty hubble: key, values: null); and the value of a string map (labels: {zone: null}), which
// the loader reads as "". Definitions a $ref names are not inside: each is passed on its own.
func nullable(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if s.Properties != nil {
		for p := s.Properties.Oldest(); p != nil; p = p.Next() {
			nullable(p.Value)
			if !slices.Contains(s.Required, p.Key) {
				p.Value = orNull(p.Value)
			}
		}
	}
	if a := s.AdditionalProperties; a != nil {
		nullable(a)
		if a.Type == "string" {
			s.AdditionalProperties = orNull(a)
		}
	}
	nullable(s.Items)
	for _, o := range slices.Concat(s.OneOf, s.AnyOf) {
		nullable(o)
	}
}

// orNull is s, or null.
func orNull(s *jsonschema.Schema) *jsonschema.Schema {
	if _, done := s.Extras["type"]; done || slices.ContainsFunc(s.AnyOf, func(o *jsonschema.Schema) bool { return o.Type == "null" }) {
		return s
	}
	if s.Type == "" {
		inner := *s
		inner.Description = ""
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{&inner, {Type: "null"}}, Description: s.Description}
	}
	out := *s
	out.Extras = map[string]any{"type": []string{s.Type, "null"}}
	out.Type = ""
	if out.Enum != nil {
		out.Enum = append(slices.Clone(out.Enum), nil)
	}
	return &out
}

// JSONSchema lets a CIDR peer be written as a bare CIDR or as {cidr, except}, as the loader accepts.
func (CIDRPeer) JSONSchema() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("cidr", &jsonschema.Schema{Type: "string"})
	props.Set("except", &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}})
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "string", Description: "A CIDR such as 10.0.0.0/8."},
		{Type: "object", Properties: props, Required: []string{"cidr"}, AdditionalProperties: jsonschema.FalseSchema},
	}}
}

// The name rules the loader checks (Kubernetes' validation functions, and its own), as patterns that ECMA-262 (the
// editors') and RE2 read alike, with the lengths the rules set. TestNamePatternsAreTheLoadersRules holds each to its
// rule.
const (
	dnsLabelPattern     = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	dnsSubdomainPattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// A label key is a name of at most 63 characters, with an optional DNS subdomain prefix of at most 253 and a /.
	labelKeyPrefix        = `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/`
	labelKeyName          = `([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]`
	labelKeyPattern       = `^(` + labelKeyPrefix + `)?` + labelKeyName + `$`
	labelKeyPrefixPattern = `^([^/]{1,253}/)?[^/]*$`
	// A Secret type of one's own is a label key with its prefix, outside kubernetes.io/.
	ownSecretTypePattern = `^` + labelKeyPrefix + labelKeyName + `$`
	labelValuePattern    = `^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$`
	// A Secret key: letters, digits, '-', '_' and '.', neither . nor .. nor starting with .. (IsConfigMapKey).
	secretKeyPattern = `^\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$`
)

// nameSchema sets a string property of s to a name rule: a pattern and a longest length.
func nameSchema(s *jsonschema.Schema, property, pattern string, maxLength uint64) {
	p, _ := s.Properties.Get(property)
	p.Pattern, p.MaxLength = pattern, new(maxLength)
}

// dnsLabel and dnsSubdomain are Kubernetes' name rules; fileName is a subdomain that names a file, NAME.yaml.
func dnsLabel(s *jsonschema.Schema, property string) { nameSchema(s, property, dnsLabelPattern, 63) }
func dnsSubdomain(s *jsonschema.Schema, property string) {
	nameSchema(s, property, dnsSubdomainPattern, 253)
}
func fileName(s *jsonschema.Schema, property string) {
	nameSchema(s, property, dnsSubdomainPattern, MaxFileName-uint64(len(".yaml")))
}

// labelMap makes a string map a map of Kubernetes labels: label keys, label values.
func labelMap(m *jsonschema.Schema) {
	m.PropertyNames = &jsonschema.Schema{Pattern: labelKeyPattern, AllOf: []*jsonschema.Schema{{Pattern: labelKeyPrefixPattern}}}
	m.AdditionalProperties.Pattern, m.AdditionalProperties.MaxLength = labelValuePattern, new(uint64(63))
}

// ageRecipientPattern is an age X25519 recipient's form: age1 and 58 characters of bech32's alphabet (its checksum
// is the loader's to check).
const ageRecipientPattern = `^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$`

// JSONSchemaExtend gives the cluster's name and domain Kubernetes' name rules, and its recipients age's form.
func (Cluster) JSONSchemaExtend(s *jsonschema.Schema) {
	dnsLabel(s, "name")
	dnsSubdomain(s, "domain")
	recipients, _ := s.Properties.Get("ageRecipients")
	recipients.Items.Pattern = ageRecipientPattern
}

// JSONSchemaExtend gives the recipients age's form.
func (FleetDefaults) JSONSchemaExtend(s *jsonschema.Schema) {
	recipients, _ := s.Properties.Get("ageRecipients")
	recipients.Items.Pattern = ageRecipientPattern
}

// JSONSchemaExtend gives a node's name and labels Kubernetes' rules.
func (Node) JSONSchemaExtend(s *jsonschema.Schema) {
	dnsSubdomain(s, "name")
	labels, _ := s.Properties.Get("labels")
	labelMap(labels)
}

// JSONSchemaExtend gives a host policy a name its file can have: not kustomization, whose file lists the folder.
func (HostPolicy) JSONSchemaExtend(s *jsonschema.Schema) {
	fileName(s, "name")
	name, _ := s.Properties.Get("name")
	name.Not = &jsonschema.Schema{Const: "kustomization"}
}

// JSONSchemaExtend gives the node labels a policy selects by Kubernetes' label rules.
func (NodeMatch) JSONSchemaExtend(s *jsonschema.Schema) {
	labels, _ := s.Properties.Get("labels")
	labelMap(labels)
}

// JSONSchemaExtend says that a value source names exactly one of env and file (a null or empty one is left out), an
// environment variable or a relative path.
func (SecretSource) JSONSchemaExtend(s *jsonschema.Schema) {
	only := func(field string) *jsonschema.Schema {
		props := jsonschema.NewProperties()
		props.Set(field, &jsonschema.Schema{Type: "string", MinLength: new(uint64(1))})
		return &jsonschema.Schema{Required: []string{field}, Properties: props}
	}
	s.OneOf = []*jsonschema.Schema{only("env"), only("file")}
	env, _ := s.Properties.Get("env")
	env.Pattern = "^(" + strings.TrimSuffix(strings.TrimPrefix(envName.String(), "^"), "$") + ")?$" // "" is left out
	file, _ := s.Properties.Get("file")
	file.Not = &jsonschema.Schema{Type: "string", Pattern: `^[/~]`}
}

// JSONSchemaExtend says that a secret has at least one key, each a key a Secret may have, gives its name (which
// names its file) and namespace Kubernetes' name rules, and its type: a built-in type kronform-gen writes, or one of
// the user's own, DOMAIN/NAME outside kubernetes.io/ (the keys a built-in type needs are the loader's to check).
func (Secret) JSONSchemaExtend(s *jsonschema.Schema) {
	data, _ := s.Properties.Get("data")
	data.MinProperties = new(uint64(1))
	data.PropertyNames = &jsonschema.Schema{Pattern: secretKeyPattern, MaxLength: new(uint64(253))}
	fileName(s, "name")
	dnsLabel(s, "namespace")
	typ, _ := s.Properties.Get("type")
	typ.AnyOf = []*jsonschema.Schema{
		{Enum: anyOf(slices.Sorted(maps.Keys(secretTypes)))},
		{Pattern: ownSecretTypePattern, AllOf: []*jsonschema.Schema{{Pattern: labelKeyPrefixPattern}},
			Not: &jsonschema.Schema{Type: "string", Pattern: `^kubernetes\.io/`}},
	}
}

// hetznerPortPattern is Robot's port syntax, N or N-M (the numbers' range is the loader's to check).
const hetznerPortPattern = `[0-9]+(-[0-9]+)?`

// JSONSchemaExtend names Robot's characters for a template name, and the form of a discarded port: N or N-M, for
// every protocol or with /tcp or /udp.
func (Hetzner) JSONSchemaExtend(s *jsonschema.Schema) {
	template, _ := s.Properties.Get("template")
	template.Pattern = hetznerName.String()
	discard, _ := s.Properties.Get("discard")
	discard.Items.Pattern = `^` + hetznerPortPattern + `(/(` + anyCase("tcp") + `|` + anyCase("udp") + `)?)?$`
}

// JSONSchemaExtend names Robot's characters for a rule name, Robot's port syntax, and its TCP flags: any of them
// joined by |, or all of them by &. An empty port or flags is refused, as the loader refuses it (leave it out).
func (HetznerRule) JSONSchemaExtend(s *jsonschema.Schema) {
	name, _ := s.Properties.Get("name")
	name.Pattern = hetznerName.String()
	for _, f := range []string{"srcPort", "dstPort"} {
		port, _ := s.Properties.Get(f)
		port.Pattern = `^` + hetznerPortPattern + `$`
	}
	flag := `(` + strings.Join(hetznerTCPFlags, "|") + `)`
	flags, _ := s.Properties.Get("tcpFlags")
	flags.Pattern = `^(` + flag + `(\|` + flag + `)*|` + flag + `(&` + flag + `)*)$`
}

// JSONSchemaExtend lists the IPAM modes the loader takes, and gives the namespace Kubernetes' name rule.
func (Cilium) JSONSchemaExtend(s *jsonschema.Schema) {
	ipam, _ := s.Properties.Get("ipam")
	ipam.Enum = anyOf(ipamModes)
	dnsLabel(s, "namespace")
}

// zeroDuration matches the durations Flux's pattern takes and the loader refuses: zero (0s, 0m0s), and a single ms
// below 1 (0.5ms), which a Flux object would write back as µs. How long is too long needs arithmetic: the loader
// checks that.
const zeroDuration = `^(0+(\.0+)?(ms|s|m|h))+$|^0*(\.[0-9]+)?ms$`

// JSONSchemaExtend refuses the durations Flux's pattern takes but the loader does not, and gives the namespace and
// the GitRepository's name Kubernetes' name rules.
func (Flux) JSONSchemaExtend(s *jsonschema.Schema) {
	for _, f := range []string{"interval", "retryInterval", "timeout"} {
		d, _ := s.Properties.Get(f)
		d.Not = &jsonschema.Schema{Type: "string", Pattern: zeroDuration}
	}
	dnsLabel(s, "namespace")
	dnsSubdomain(s, "gitRepository")
	path, _ := s.Properties.Get("path")
	path.Pattern = noUnseenPattern()
}

// noUnseenPattern refuses the control and format characters unseenRune finds, written as the characters themselves
// in a class: ECMA-262 (the editors') and RE2 read those alike, which their escapes (\u200B, \x{200B}) are not. Only
// those of the Basic Multilingual Plane: ECMA-262 without the u flag reads a character beyond it as two, so those
// the loader alone refuses. JSONSchema writes them escaped. Made when first asked for: it walks the whole plane,
// which cost every run of the binary 3 ms at start.
var noUnseenPattern = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString("^[^")
	for r := rune(0); r <= 0xFFFF; r++ {
		if _, kind := unseenRune(string(r)); kind == "" || r > 0 && unseenIs(r-1) {
			continue
		}
		hi := r
		for hi < 0xFFFF && unseenIs(hi+1) {
			hi++
		}
		b.WriteRune(r)
		if hi > r {
			b.WriteRune('-')
			b.WriteRune(hi)
		}
	}
	b.WriteString("]*$")
	return b.String()
})

func unseenIs(r rune) bool {
	_, kind := unseenRune(string(r))
	return kind != ""
}

// escapeUnseen writes the control and format characters inside JSON's strings as \u escapes, so that the schema file
// shows them; JSON's own line breaks stand.
func escapeUnseen(out []byte) []byte {
	var b bytes.Buffer
	for _, r := range string(out) {
		if r == '\n' || !unseenIs(r) {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, "\\u%04x", u)
		}
	}
	return b.Bytes()
}

// JSONSchemaExtend says what a rule needs: a non-empty list of peers, ports or ICMP types, known entities, non-empty
// endpoint selectors, and ports with a protocol. Port numbers out of range are the loader's to find.
func (PolicyRule) JSONSchemaExtend(s *jsonschema.Schema) {
	for p := s.Properties.Oldest(); p != nil; p = p.Next() {
		props := jsonschema.NewProperties()
		props.Set(p.Key, &jsonschema.Schema{Type: "array", MinItems: new(uint64(1))})
		s.AnyOf = append(s.AnyOf, &jsonschema.Schema{Required: []string{p.Key}, Properties: props})
	}
	entities, _ := s.Properties.Get("entities")
	entities.Items.Enum = anyOf(ciliumEntities)
	endpoints, _ := s.Properties.Get("endpoints")
	endpoints.Items.MinProperties = new(uint64(1))
	labelMap(endpoints.Items)
	ports, _ := s.Properties.Get("ports")
	var protocols []string
	for _, p := range Protocols {
		protocols = append(protocols, anyCase(p))
	}
	ports.Items.Pattern = `^[0-9]+(-[0-9]+)?/(` + strings.Join(protocols, "|") + `)$`
}

// anyCase is a pattern that matches s in any case: JSON Schema's regular expressions (ECMA-262) have no flag for it.
func anyCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString("[" + strings.ToUpper(string(r)) + string(r) + "]")
	}
	return b.String()
}

func anyOf(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// JSONSchema lets an ICMP type be written as its number or as a name either family has (the loader checks the name
// against the rule's family).
func (ICMPTypeValue) JSONSchema() *jsonschema.Schema {
	names := make([]any, 0, len(ICMPTypeNames()))
	for _, n := range ICMPTypeNames() {
		names = append(names, n)
	}
	zero, top := json.Number("0"), json.Number("255")
	return &jsonschema.Schema{
		Description: "The ICMP type: its number (8 is ping: EchoRequest; for IPv6 128) or Cilium's name for it in the rule's family.",
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: zero, Maximum: top},
			{Type: "string", Enum: names},
		},
	}
}
