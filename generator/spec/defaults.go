package spec

import "fmt"

// Defaults the spec documents; the JSON Schema descriptions name the same values.
const (
	DefaultDomain           = "cluster.local"
	DefaultAPIPort          = 6443
	DefaultFluxNamespace    = "flux-system"
	DefaultGitRepository    = "flux-system"
	DefaultInterval         = "10m"
	DefaultRetryInterval    = "2m"
	DefaultTimeout          = "5m"
	DefaultCiliumRepository = "https://helm.cilium.io/"
	DefaultCiliumNamespace  = "kube-system"
	DefaultIPAM             = "kubernetes"
	DefaultEncryption       = "none"
	DefaultSecretType       = "Opaque"
	KubePrismHost           = "localhost"
	KubePrismPort           = 7445
)

// applyDefaults fills what the user left out, fleet defaults first, then the built-in ones. It never overrides a value
// the user wrote: whether a field was written is read from the file (Positions), not from its zero value, so an
// explicit port: 0 is refused as out of range instead of becoming 6443, and an explicit empty value is refused instead
// of quietly becoming the default.
func (v *validator) applyDefaults() {
	s := &v.m.Spec
	fleet := s.Defaults.Flux // checked for empty values only: the clusters inherit it as written
	v.def("defaults.flux", &fleet, Flux{})
	if s.Defaults.Flux.Path != "" {
		v.fail("defaults.flux.path", "set flux.path on each cluster, or leave it out for clusters/<name>",
			"a fleet-wide path would put every cluster in one folder, so it is not inherited")
	}
	for i := range s.Clusters {
		c := &s.Clusters[i]
		p := fmt.Sprintf("clusters[%d]", i)
		v.defString(p+".domain", &c.Domain, DefaultDomain)
		v.defPort(p+".apiServer.port", &c.APIServer.Port, DefaultAPIPort)
		if len(c.AgeRecipients) == 0 {
			v.emptyWritten(p+".ageRecipients", "leave it out to use defaults.ageRecipients")
			c.AgeRecipients = s.Defaults.AgeRecipients
			v.inherit(p+".ageRecipients", len(c.AgeRecipients) > 0)
		}
		v.def(p+".flux", &c.Flux, s.Defaults.Flux)
		if c.Name != "" { // a missing or mistyped name is reported; a path made from it would only add noise
			def(&c.Flux.Path, ClustersDir+"/"+c.Name)
		}

		cl := &c.Cilium
		cp := p + ".cilium"
		v.defString(cp+".repository", &cl.Repository, DefaultCiliumRepository)
		v.defString(cp+".namespace", &cl.Namespace, DefaultCiliumNamespace)
		v.defString(cp+".ipam", &cl.IPAM, DefaultIPAM)
		v.defString(cp+".encryption", &cl.Encryption, DefaultEncryption)
		if cl.KubeProxyReplacement == nil {
			cl.KubeProxyReplacement = ptr(true)
		}
		if cl.HostFirewall == nil {
			cl.HostFirewall = ptr(true)
		}
		switch {
		case cl.K8sService.KubePrism:
			cl.K8sService.Host, cl.K8sService.Port = KubePrismHost, KubePrismPort
		default:
			v.defString(cp+".k8sService.host", &cl.K8sService.Host, c.APIServer.Host)
			v.defPort(cp+".k8sService.port", &cl.K8sService.Port, c.APIServer.Port)
		}
		for j := range c.Secrets {
			v.defString(fmt.Sprintf("%s.secrets[%d].type", p, j), &c.Secrets[j].Type, DefaultSecretType)
		}
	}
}

// def fills the Flux settings left out from inherited ones, then from the built-in defaults. The path is not one of
// them: it is per cluster.
func (v *validator) def(p string, f *Flux, inherited Flux) {
	v.inherit(p+".namespace", f.Namespace == "" && inherited.Namespace != "")
	v.inherit(p+".gitRepository", f.GitRepository == "" && inherited.GitRepository != "")
	v.inherit(p+".interval", f.Interval == "" && inherited.Interval != "")
	v.inherit(p+".retryInterval", f.RetryInterval == "" && inherited.RetryInterval != "")
	v.inherit(p+".timeout", f.Timeout == "" && inherited.Timeout != "")
	v.defString(p+".namespace", &f.Namespace, inherited.Namespace, DefaultFluxNamespace)
	v.defString(p+".gitRepository", &f.GitRepository, inherited.GitRepository, DefaultGitRepository)
	v.defString(p+".interval", &f.Interval, inherited.Interval, DefaultInterval)
	v.defString(p+".retryInterval", &f.RetryInterval, inherited.RetryInterval, DefaultRetryInterval)
	v.defString(p+".timeout", &f.Timeout, inherited.Timeout, DefaultTimeout)
	if f.Path == "" {
		v.emptyWritten(p+".path", "leave it out for clusters/<name>")
	}
}

// inherit records, when it is so, that a cluster's field at path holds the value of defaults: a problem with that
// value is reported once, where defaults writes it, and not again at every cluster that inherits it (at a place it
// does not stand, the nearest written parent).
func (v *validator) inherit(path string, inherited bool) {
	if !inherited || v.m.written(path) {
		return
	}
	if v.inherited == nil {
		v.inherited = map[string]bool{}
	}
	v.inherited[path] = true
}

// defString is def for a field at path: an empty value written in the file is refused (and then defaulted all the
// same, so that what follows is checked as if it had been left out).
func (v *validator) defString(path string, field *string, candidates ...string) {
	if *field == "" {
		v.emptyWritten(path, "leave it out for the default")
	}
	def(field, candidates...)
}

// emptyWritten reports a field written with an empty value, where leaving it out means a default; it says whether it
// did. A field written null counts as left out.
func (v *validator) emptyWritten(path, hint string) bool {
	if !v.m.written(path) {
		return false
	}
	v.fail(path, hint, "an empty value is not allowed")
	if v.emptied == nil {
		v.emptied = map[string]bool{}
	}
	v.emptied[path] = true
	return true
}

// defPort sets a port left out to its default. A port written as 0 stays 0, for the range check to refuse.
func (v *validator) defPort(path string, port *int, value int) {
	if *port == 0 && !v.m.written(path) {
		*port = value
	}
}

// def sets *field to the first non-empty candidate when it is empty.
func def(field *string, candidates ...string) {
	for _, c := range candidates {
		if *field != "" {
			return
		}
		*field = c
	}
}

func ptr[T any](v T) *T { return &v }

// ClustersDir is the folder whose subfolders are the clusters' Flux paths (flux bootstrap --path clusters/<cluster>):
// where build and diff look for each cluster's Flux Kustomizations.
const ClustersDir = "clusters"
