package spec

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// validator checks a decoded spec for meaning, after defaults and presets, collecting every problem.
type validator struct {
	m        *Model
	problems Problems
	// failed are the paths whose values did not decode (decoder.fail): what is said about them is noise.
	failed map[string]bool
	// emptied are the fields written empty and then defaulted (emptyWritten reported them).
	emptied map[string]bool
	// inherited are the clusters' fields that hold what defaults wrote (inherit): checked there, and only there.
	inherited map[string]bool
}

// PosOf finds where a field path stands in the file; a defaulted field points at its nearest written parent.
func (m *Model) PosOf(path string) Pos { return posIn(m.Positions, path) }

func posIn(positions map[string]Pos, path string) Pos {
	for {
		if p, ok := positions[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return Pos{1, 1}
		}
		path = path[:i]
	}
}

// Problem makes a positioned problem about the field at path, for later stages that find something wrong. A path
// into what a host policy took from its preset (its first rules, perhaps its nodes) is reported in the preset's
// file, with the path inside the preset; a path into the policy's own rules, with their index as written.
func (m *Model) Problem(path, hint, format string, args ...any) Problem {
	return m.problem(path, false, hint, format, args...)
}

// problem is Problem; key says the problem is with the key of a free-form mapping entry (a label), which it points at
// rather than at the value.
func (m *Model) problem(path string, key bool, hint, format string, args ...any) Problem {
	file, positions, keys, shown, _ := m.locate(path)
	pos, ok := keys[shown]
	if !key || !ok {
		pos = posIn(positions, shown)
	}
	return Problem{File: file, Pos: pos, Path: shown, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// locate finds where the field at a path of the loaded model was written: in the spec, or, for what a host policy
// took from its preset, in the preset's file (inPreset), with the path as written there.
func (m *Model) locate(path string) (file string, positions, keys map[string]Pos, shown string, inPreset bool) {
	file, positions, keys, shown = m.File, m.Positions, m.keys, path
	if policy, rest, ok := cutPolicy(path); ok {
		if parts, ok := m.fromPreset[policy]; ok {
			shown = policy + rest
			inPreset = parts.nodes && (rest == ".nodes" || strings.HasPrefix(rest, ".nodes."))
			for dir, n := range parts.rules {
				i, tail, ok := cutIndex(rest, "."+dir)
				switch {
				case !ok:
				case i < n:
					inPreset = true
				default:
					shown = fmt.Sprintf("%s.%s[%d]%s", policy, dir, i-n, tail)
				}
			}
			if inPreset {
				file, positions, keys, shown = parts.source.file, parts.source.pos, parts.source.keys, rest[1:]
			}
		}
	}
	return file, positions, keys, shown, inPreset
}

// cutPolicy splits a path inside a host policy into the policy's path and the rest (.ingress[0].ports[1]).
func cutPolicy(path string) (policy, rest string, ok bool) {
	i := strings.Index(path, ".hostPolicies[")
	if i < 0 {
		return "", "", false
	}
	j := strings.Index(path[i:], "]")
	if j < 0 {
		return "", "", false
	}
	return path[:i+j+1], path[i+j+1:], true
}

// cutIndex reads field[i] at the start of path, and what follows it.
func cutIndex(path, field string) (i int, tail string, ok bool) {
	rest, ok := strings.CutPrefix(path, field+"[")
	if !ok {
		return 0, "", false
	}
	j := strings.Index(rest, "]")
	if j < 0 {
		return 0, "", false
	}
	i, err := strconv.Atoi(rest[:j])
	return i, rest[j+1:], err == nil
}

// undecoded says a field at one of the paths of the loaded model did not decode, in the spec or in the preset a host
// policy took it from: it is left zero (its problem is reported where it stands), and what a check of another field
// would make of that zero (missing, empty, the default) is noise.
func (v *validator) undecoded(paths ...string) bool {
	for _, path := range paths {
		_, _, _, shown, inPreset := v.m.locate(path)
		failed := v.failed
		if inPreset {
			policy, _, _ := cutPolicy(path)
			failed = v.m.fromPreset[policy].source.failed
		}
		if failed[shown] {
			return true
		}
	}
	return false
}

func (v *validator) fail(path, hint, format string, args ...any) {
	if coveredBy(path, v.inherited) {
		return // reported where defaults writes the value
	}
	v.problems = append(v.problems, v.m.Problem(path, hint, format, args...))
}

// failKey is fail for a problem with the key of a free-form mapping entry: it points at the key, not at its value.
func (v *validator) failKey(path, hint, format string, args ...any) {
	v.problems = append(v.problems, v.m.problem(path, true, hint, format, args...))
}

func (v *validator) run() {
	s := &v.m.Spec
	switch {
	case s.APIVersion == APIVersion:
	case !v.m.written("apiVersion"):
		v.fail("apiVersion", "write apiVersion: "+APIVersion, "apiVersion is missing")
	default:
		v.fail("apiVersion", "write apiVersion: "+APIVersion, "unsupported apiVersion %q", s.APIVersion)
	}
	switch {
	case s.Kind == Kind:
	case !v.m.written("kind"):
		v.fail("kind", "write kind: "+Kind, "kind is missing")
	default:
		v.fail("kind", "write kind: "+Kind, "unsupported kind %q", s.Kind)
	}
	if len(s.Clusters) == 0 {
		v.fail("clusters", "", "at least one cluster is required")
	}
	rp := v.repositoryPath()
	v.recipients("defaults.ageRecipients", s.Defaults.AgeRecipients)
	v.flux("defaults.flux", s.Defaults.Flux)
	v.applyDefaults()
	names := map[string]string{}
	paths := map[string]string{}
	templates := map[string]string{}
	for i := range s.Clusters {
		c := &s.Clusters[i]
		p := fmt.Sprintf("clusters[%d]", i)
		v.dnsLabel(p+".name", c.Name)
		if first, ok := names[c.Name]; ok && c.Name != "" {
			v.fail(p+".name", "", "cluster %q is already defined at %s", c.Name, first)
		}
		names[c.Name] = p
		// flux bootstrap takes --path ./clusters/x as well as clusters/x: the model keeps the clean form, which every
		// check below and every later stage compares. A path not in clean form otherwise is reported by flux.
		fp, clean := c.Flux.Path, path.Clean(c.Flux.Path)
		if _, kind := unseenRune(fp); fp != "" && (clean == fp || "./"+clean == fp) && clean != "." && kind == "" {
			c.Flux.Path = clean
			if first, ok := paths[clean]; ok {
				v.fail(p+".flux.path", "", "path %q is already used by %s", clean, first)
			}
			paths[clean] = p
			// The default path follows the name, whose own errors are reported. With repositoryPath, bootstrap's
			// --path is the folder under it: a flux.path written that way is told so.
			inTree, fromRoot := strings.CutPrefix(clean, rp+"/")
			switch {
			case clean == ClustersDir+"/"+c.Name || clusterFolder(clean):
			case rp != "" && fromRoot && clusterFolder(inTree):
				v.fail(p+".flux.path", "write "+inTree+", and bootstrap with flux bootstrap --path "+clean,
					"path %q is a path from the repository's root, but flux.path is the cluster's folder in the tree, "+
						"and the tree is the folder %s of the repository Flux follows (repositoryPath)", fp, rp)
			default:
				v.fail(p+".flux.path", ClustersDir+"/<folder>, as flux bootstrap --path "+path.Join(rp, ClustersDir, c.Name),
					"path %q is not a folder directly in %s/: build, diff and the CI workflow find each cluster's Flux "+
						"Kustomizations in %s/<cluster>/, so they would never see this cluster, and a path inside another "+
						"cluster's folder makes that cluster apply this one's objects", fp, ClustersDir, ClustersDir)
			}
		}
		v.cluster(p, c)
		// The template name (defaulted by cluster) is how the admin finds a template in Robot to update it and apply
		// it to servers: two clusters' templates under one name are taken for each other.
		if h := c.Hetzner; h != nil && h.Template != "" {
			if first, ok := templates[h.Template]; ok {
				v.fail(p+".hetzner.template", "give each cluster a template name of its own",
					"Robot template %q is also %s's: uploading one cluster's would replace the other's rules, or "+
						"leave the servers on the wrong one", h.Template, first)
			} else {
				templates[h.Template] = p
			}
		}
	}
}

func (v *validator) cluster(p string, c *Cluster) {
	if errs := validation.IsDNS1123Subdomain(c.Domain); len(errs) > 0 {
		v.fail(p+".domain", "", "%q is not a DNS domain: %s", c.Domain, short(errs[0]))
	}
	v.host(p+".apiServer.host", c.APIServer.Host)
	v.port(p+".apiServer.port", c.APIServer.Port)
	v.nodes(p, c.Nodes)
	v.apiEndpoint(p, p+".apiServer.host", c.APIServer.Host, c.Nodes)
	v.flux(p+".flux", c.Flux)
	v.cilium(p+".cilium", c)
	v.recipients(p+".ageRecipients", c.AgeRecipients)
	v.hostPolicies(p, c)
	v.secrets(p, c)
	v.hetzner(p, c)
	v.assertions(p, c)
}

func (v *validator) dnsLabel(path, name string) {
	v.name(path, name, validation.IsDNS1123Label, "lower-case letters, digits and '-', at most 63")
}

func (v *validator) dnsSubdomain(path, name string) {
	v.name(path, name, validation.IsDNS1123Subdomain, "lower-case letters, digits, '-' and '.', at most 253")
}

// name checks a required name with one of Kubernetes' name rules.
func (v *validator) name(path, name string, rule func(string) []string, hint string) {
	if name == "" {
		v.fail(path, "", "a name is required")
		return
	}
	if errs := rule(name); len(errs) > 0 {
		v.fail(path, hint, "%q is not a valid name: %s", name, short(errs[0]))
	}
}

// MaxFileName is the longest file name, in bytes, that the file systems a repository is checked out on take (ext4,
// XFS, APFS, NTFS in UTF-16 units).
const MaxFileName = 255

// fileName checks that a name that becomes a file, NAME.yaml, fits in a file name. A DNS subdomain may have 253
// characters, more than that leaves room for.
func (v *validator) fileName(path, name string) {
	if file := name + ".yaml"; len(file) > MaxFileName {
		v.fail(path, fmt.Sprintf("at most %d characters", MaxFileName-len(".yaml")),
			"the name has %d characters, and its file NAME.yaml would be longer than the %d bytes a file name may have", len(name), MaxFileName)
	}
}

func (v *validator) host(path, host string) {
	if host == "" {
		v.fail(path, "", "a host name or address is required")
		return
	}
	if msg, hint := hostProblem(host, validation.IsDNS1123Subdomain); msg != "" {
		v.fail(path, hint, "%s", msg)
	}
}

// hostProblem says what keeps host from being an IP address a client can connect to or a DNS name; "" when nothing.
// dnsName says which names are DNS names; it is given the name in lower case, as DNS names are case-insensitive.
// A name that ends in an all-numeric label is not a DNS name (RFC 1123 2.1, RFC 3696 2): 256.1.1.1 and 1.2.3.04
// are addresses written wrong, which a resolver would not look up.
func hostProblem(host string, dnsName func(string) []string) (msg, hint string) {
	if a, err := netip.ParseAddr(host); err == nil {
		if msg, hint := addrProblem(a); msg != "" {
			return msg, hint
		}
		if a.IsUnspecified() || a.IsMulticast() || a == broadcast {
			return fmt.Sprintf("%s is not an address a client can connect to", host), ""
		}
		return "", ""
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".") // a fully qualified name ends in a dot
	if last := labels[len(labels)-1]; last != "" && strings.Trim(last, "0123456789") == "" {
		if _, err := netip.ParseAddr(host); len(labels) == 4 && !strings.HasSuffix(host, ".") && err != nil {
			return fmt.Sprintf("%q is not an IPv4 address: %s", host, parseError(err)), ""
		}
		return fmt.Sprintf("%q is neither an IP address nor a DNS name: a DNS name does not end in an all-numeric label", host), ""
	}
	if len(dnsName(strings.ToLower(host))) > 0 {
		return fmt.Sprintf("%q is neither an IP address nor a DNS name", host), ""
	}
	return "", ""
}

// resolvableName admits the DNS names Go's resolver looks up, which source-controller fetches a Helm repository
// with: RFC 1123 names with underscores, fully qualified (one trailing dot) or not.
func resolvableName(name string) []string {
	return validation.IsDNS1123SubdomainWithUnderscore(strings.TrimSuffix(name, "."))
}

// broadcast is the limited broadcast address, which names no one machine.
var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// addrProblem says what keeps a parsed address from standing as written in a firewall rule or a connection: a zone,
// which names an interface of one machine, or the IPv4-mapped form, which no packet carries (an IPv4 rule never
// matches it). "" when nothing.
func addrProblem(a netip.Addr) (msg, hint string) {
	switch {
	case a.Zone() != "":
		return fmt.Sprintf("%s has a zone (%%%s), which names an interface of one machine", a, a.Zone()), "write " + a.WithZone("").String()
	case a.Is4In6():
		return fmt.Sprintf("%s is an IPv4-mapped IPv6 address, which no packet carries", a), "write the IPv4 address " + a.Unmap().String()
	}
	return "", ""
}

// parseError is a net/netip error without the call it repeats (ParseAddr("x"): ).
func parseError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "): "); i >= 0 {
		return msg[i+3:]
	}
	return msg
}

func (v *validator) port(path string, port int) {
	if port < 1 || port > 65535 {
		v.fail(path, "", "port %d is out of range 1-65535", port)
	}
}

// fluxDuration is the pattern of every duration field of the Flux APIs kronform-gen writes (interval, retryInterval
// and timeout of Kustomization, HelmRelease and HelmRepository: the CRDs in generator/validate/crds).
var fluxDuration = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)

const durationHint = "a duration in ms, s, m and h, such as 10m or 1h30m"

func (v *validator) duration(path, d string) {
	if d == "" {
		return
	}
	if !fluxDuration.MatchString(d) {
		if _, err := time.ParseDuration(d); err == nil {
			v.fail(path, durationHint, "%q is a Go duration that Flux refuses: its durations take the units ms, s, m and h", d)
		} else {
			v.fail(path, durationHint, "%q is not a duration", d)
		}
		return
	}
	dur, err := time.ParseDuration(d)
	switch {
	case err != nil: // digits past what a time.Duration holds
		v.fail(path, "", "duration %q is too long", d)
	case dur <= 0:
		v.fail(path, "", "duration %q must be positive", d)
	case dur < time.Millisecond:
		// The Flux objects hold a time.Duration, written back in Go's form: 0.5ms would become 500µs.
		v.fail(path, durationHint, "duration %q is shorter than 1ms, the smallest Flux takes", d)
	}
}

func (v *validator) flux(p string, f Flux) {
	if f.Namespace != "" {
		v.dnsLabel(p+".namespace", f.Namespace)
	}
	if f.GitRepository != "" {
		v.dnsSubdomain(p+".gitRepository", f.GitRepository)
	}
	v.duration(p+".interval", f.Interval)
	v.duration(p+".retryInterval", f.RetryInterval)
	v.duration(p+".timeout", f.Timeout)
	if f.Path != "" {
		clean := path.Clean(f.Path)
		switch r, kind := unseenRune(f.Path); {
		case kind != "":
			v.fail(p+".path", "write the path without it", "path %q holds %U, a %s character, which no listing shows", f.Path, r, kind)
		case path.IsAbs(f.Path) || clean == ".." || strings.HasPrefix(clean, "../"):
			v.fail(p+".path", "a path inside the repository such as clusters/prod", "path %q leaves the repository", f.Path)
		case clean != strings.TrimPrefix(f.Path, "./") || clean == ".":
			v.fail(p+".path", "write "+clean, "path %q is not in clean form", f.Path)
		}
	}
}

// unseenRune finds the first control or format character (Unicode Cc, Cf: \x01, a zero-width space, a direction
// mark) in s, and names its kind; "" when there is none. A folder named with one looks like another in every listing.
func unseenRune(s string) (r rune, kind string) {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r):
			return r, "control"
		case unicode.Is(unicode.Cf, r):
			return r, "format"
		}
	}
	return 0, ""
}

// clusterFolder says whether a clean path is a folder directly in clusters/, as a cluster's flux.path must be.
func clusterFolder(clean string) bool {
	dir, rest, _ := strings.Cut(clean, "/")
	return dir == ClustersDir && rest != "" && !strings.Contains(rest, "/")
}

// repositoryPath checks where the tree lies in the repository Flux follows, and keeps its clean form: a Kustomization's
// spec.path is written from it, and kustomize-controller resolves that path from the repository's root. It returns
// the clean form, "" when left out or refused.
func (v *validator) repositoryPath() string {
	const p = "repositoryPath"
	s := &v.m.Spec
	rp := s.RepositoryPath
	if rp == "" {
		v.emptyWritten(p, "leave it out when the tree is the root of the repository Flux follows")
		return ""
	}
	clean := path.Clean(rp)
	r, kind := unseenRune(rp)
	switch first, _, _ := strings.Cut(clean, "/"); {
	case kind != "":
		v.fail(p, "write the path without it", "path %q holds %U, a %s character, which no listing shows", rp, r, kind)
	case path.IsAbs(rp) || clean == ".." || strings.HasPrefix(clean, "../"):
		v.fail(p, "the folder that holds the tree, from the repository's root, such as output", "path %q leaves the repository", rp)
	case clean == ".":
		v.fail(p, "leave it out when the tree is the root of the repository Flux follows", "path %q is the repository's root", rp)
	case clean != strings.TrimPrefix(rp, "./"):
		v.fail(p, "write "+clean, "path %q is not in clean form", rp)
	case first == ".git":
		v.fail(p, "", "path %q is inside .git, which Flux never reads", rp)
	default:
		s.RepositoryPath = clean
		return clean
	}
	return ""
}

func (v *validator) nodes(p string, nodes []Node) {
	if len(nodes) == 0 {
		v.fail(p+".nodes", "", "a cluster needs at least one node")
		return
	}
	names := map[string]string{}
	addrs := map[netip.Addr]string{}
	controlPlanes := 0
	for i, n := range nodes {
		np := fmt.Sprintf("%s.nodes[%d]", p, i)
		v.dnsSubdomain(np+".name", n.Name)
		if first, ok := names[n.Name]; ok && n.Name != "" {
			v.fail(np+".name", "", "node %q is already defined at %s", n.Name, first)
		}
		names[n.Name] = np
		for j, a := range n.Addresses {
			ap := fmt.Sprintf("%s.addresses[%d]", np, j)
			addr, err := netip.ParseAddr(a)
			if err != nil {
				hint := ""
				if strings.Contains(a, "/") {
					hint = "write the address without a prefix length"
				}
				v.fail(ap, hint, "%q is not an IP address", a)
				continue
			}
			if msg, hint := addrProblem(addr); msg != "" {
				v.fail(ap, hint, "%s", msg)
				continue
			}
			// Each node address becomes an accept rule of the Hetzner template and a peer of the lock-out check.
			if kind := notANodeAddress(addr); kind != "" {
				v.fail(ap, "list the public addresses the node is reached at", "%s is %s address, which no node has", a, kind)
				continue
			}
			if first, ok := addrs[addr]; ok {
				v.fail(ap, "", "address %s is already used by %s", a, first)
			}
			addrs[addr] = ap
		}
		if len(n.Roles) == 0 {
			v.fail(np+".roles", "control-plane or worker", "a node needs a role")
		}
		seen := map[string]bool{}
		for j, r := range n.Roles {
			rp := fmt.Sprintf("%s.roles[%d]", np, j)
			switch {
			case r != RoleControlPlane && r != RoleWorker:
				v.fail(rp, "control-plane or worker", "unknown role %q", r)
			case seen[r]:
				v.fail(rp, "", "role %q is listed twice", r)
			}
			seen[r] = true
			if r == RoleControlPlane {
				controlPlanes++
			}
		}
		v.labels(np+".labels", n.Labels)
	}
	if controlPlanes == 0 && !v.nodesUnknown(p) {
		v.fail(p+".nodes", "give at least one node the role control-plane", "the cluster has no control-plane node")
	}
}

// nodesUnknown says the names or roles of the cluster at p did not all decode: that no node has some name or role is
// then not known, and saying so would only add noise to the decoding problem.
func (v *validator) nodesUnknown(p string) bool {
	prefix := p + ".nodes"
	for path := range v.failed {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, "]"); strings.HasPrefix(rest, "[") && i > 0 {
			rest = rest[i+1:]
		}
		if rest == "" || rest == ".name" || strings.HasPrefix(rest, ".roles") {
			return true
		}
	}
	return false
}

// apiEndpoint refuses an API server named by the address of a node that is not a control plane: Talos runs
// kube-apiserver on the control planes only, so no client reaches it there, Cilium's agents (which find the API
// through k8sServiceHost) included, while every firewall check still passes. A node renumbered, or a control plane's
// old address given to a new worker, leaves such a spec behind. An address no node has may be a VIP or a load
// balancer, and is taken. p is the cluster's path, to leave the check to the nodes' own problems when they hide roles.
// An address written in a form the host check refuses (IPv4-mapped, with a zone) is compared as the address its hint
// says to write, so that following the hint does not bring this problem up only in the next run.
func (v *validator) apiEndpoint(p, path, host string, nodes []Node) {
	a, err := netip.ParseAddr(host)
	if err != nil || v.nodesUnknown(p) {
		return
	}
	a = a.Unmap().WithZone("")
	for _, n := range nodes {
		for _, s := range n.Addresses {
			if b, err := netip.ParseAddr(s); err == nil && b.Unmap().WithZone("") == a && !slices.Contains(n.Roles, RoleControlPlane) {
				v.fail(path, "name a control plane's address, or an address that reaches them all: a VIP, a load balancer, a DNS name",
					"%s is the address of %s, which is not a control plane: Talos runs the API server on control planes only", host, n.Name)
				return
			}
		}
	}
}

// notANodeAddress names the kind of an address no machine has as its own ("an unspecified"), or "".
func notANodeAddress(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "the unspecified"
	case a.IsLoopback():
		return "a loopback"
	case a.IsMulticast():
		return "a multicast"
	case a == broadcast:
		return "the broadcast"
	}
	return ""
}

func (v *validator) labels(p string, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			v.failKey(p+"."+k, "", "%q is not a valid label key: %s", k, short(errs[0]))
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			v.fail(p+"."+k, "", "%q is not a valid label value: %s", labels[k], short(errs[0]))
		}
	}
}

func (v *validator) recipients(p string, rs []string) {
	seen := map[string]bool{}
	for i, r := range rs {
		rp := fmt.Sprintf("%s[%d]", p, i)
		if privateKey(r) {
			// Never shown: the spec's errors reach CI logs and pull request checks.
			v.fail(rp, "one committed or pushed is compromised: make a new key pair", "an age private key (not shown) "+
				"stands where its public key belongs: list the public key, which age-keygen -y KEYFILE prints")
			continue
		}
		if !validAgeRecipient(r) {
			v.fail(rp, "an age X25519 public key, as printed by age-keygen -y", "%q is not an age recipient", r)
		}
		if seen[r] {
			v.fail(rp, "", "recipient %q is listed twice", r)
		}
		seen[r] = true
	}
}

// Host firewall entities Cilium accepts (the CRD's enum).
var ciliumEntities = []string{"all", "world", "cluster", "host", "init", "ingress", "unmanaged", "remote-node", "health", "none", "kube-apiserver"}

// IPAM modes of the Cilium chart.
var ipamModes = []string{"kubernetes", "cluster-pool", "multi-pool", "crd", "eni", "azure", "alibabacloud", "delegated-plugin"}

func (v *validator) cilium(p string, c *Cluster) {
	cl := &c.Cilium
	if cl.Version == "" {
		v.fail(p+".version", "for example 1.16.5 or ~1.16.0", "a chart version is required")
	} else if t := strings.TrimSpace(cl.Version); t != cl.Version {
		// semver trims them, and resolves; the HelmRelease would carry them as written.
		v.fail(p+".version", fmt.Sprintf("write %q", t), "%q has spaces around it, which the HelmRelease would carry", cl.Version)
	} else if _, err := ResolveCiliumVersion(cl.Version); err != nil {
		v.fail(p+".version", "", "%v", err)
	}
	v.repository(p+".repository", cl.Repository)
	v.dnsLabel(p+".namespace", cl.Namespace)
	if !slices.Contains(ipamModes, cl.IPAM) {
		v.fail(p+".ipam", "one of "+strings.Join(ipamModes, ", "), "unknown IPAM mode %q", cl.IPAM)
	}
	if !slices.Contains([]string{"none", "wireguard", "ipsec"}, cl.Encryption) {
		v.fail(p+".encryption", "none, wireguard or ipsec", "unknown encryption %q", cl.Encryption)
	}
	written := v.m.written
	if cl.K8sService.KubePrism {
		if written(p + ".k8sService.host") {
			v.fail(p+".k8sService.host", "drop host and port, or kubePrism", "kubePrism sets the host to localhost")
		}
		if written(p + ".k8sService.port") {
			v.fail(p+".k8sService.port", "drop host and port, or kubePrism", "kubePrism sets the port to 7445")
		}
	} else {
		// Unwritten, they are copies of apiServer, which is checked (and reported) there; an empty host is reported
		// by applyDefaults.
		if written(p+".k8sService.host") && !v.emptied[p+".k8sService.host"] {
			v.host(p+".k8sService.host", cl.K8sService.Host)
			v.apiEndpoint(strings.TrimSuffix(p, ".cilium"), p+".k8sService.host", cl.K8sService.Host, c.Nodes)
		}
		if written(p + ".k8sService.port") {
			v.port(p+".k8sService.port", cl.K8sService.Port)
		}
	}
	if !*cl.HostFirewall && len(c.HostPolicies) > 0 {
		v.fail(p+".hostFirewall", "set hostFirewall: true, or remove the host policies", "host policies exist but the host firewall is off, so Cilium would not enforce them")
	}
	v.ciliumValues(p, c)
}

// helmRepositoryURL is the pattern of a HelmRepository's spec.url (the CRD in generator/validate/crds): the scheme in
// lower case.
var helmRepositoryURL = regexp.MustCompile(`^(http|https|oci)://.*$`)

func (v *validator) repository(p, repo string) {
	const hint = "an https:// or oci:// URL"
	u, err := url.Parse(repo)
	if !helmRepositoryURL.MatchString(repo) || err != nil || u.Host == "" {
		if err == nil && u.Host != "" && !helmRepositoryURL.MatchString(repo) && helmRepositoryURL.MatchString(strings.ToLower(repo)) {
			v.fail(p, "write "+strings.ToLower(u.Scheme)+"://", "%q is not a Helm repository URL: Flux takes the scheme in lower case", repo)
			return
		}
		v.fail(p, hint, "%q is not a Helm repository URL", repo)
		return
	}
	if u.User != nil {
		// Not quoted: the URL holds a password.
		v.fail(p, "a HelmRepository takes credentials from a Secret (spec.secretRef), which kronform-gen does not write",
			"the repository URL holds credentials, which would be committed in plain text")
		return
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			v.fail(p, "", "%q: port %q is out of range 1-65535", repo, port)
		}
	}
	if msg, _ := hostProblem(u.Hostname(), resolvableName); msg != "" {
		v.fail(p, hint, "%q: %s", repo, msg)
	}
}

// short drops the examples and regular expression that Kubernetes' validation messages end with.
func short(msg string) string {
	if i := strings.Index(msg, " (e.g."); i > 0 {
		return msg[:i]
	}
	return msg
}
