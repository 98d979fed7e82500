package spec

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
// the user wrote.
func applyDefaults(s *Spec) {
	for i := range s.Clusters {
		c := &s.Clusters[i]
		def(&c.Domain, DefaultDomain)
		if c.APIServer.Port == 0 {
			c.APIServer.Port = DefaultAPIPort
		}
		if len(c.AgeRecipients) == 0 {
			c.AgeRecipients = s.Defaults.AgeRecipients
		}
		f := &c.Flux
		def(&f.Namespace, s.Defaults.Flux.Namespace, DefaultFluxNamespace)
		def(&f.GitRepository, s.Defaults.Flux.GitRepository, DefaultGitRepository)
		def(&f.Interval, s.Defaults.Flux.Interval, DefaultInterval)
		def(&f.RetryInterval, s.Defaults.Flux.RetryInterval, DefaultRetryInterval)
		def(&f.Timeout, s.Defaults.Flux.Timeout, DefaultTimeout)
		if c.Name != "" { // a missing or mistyped name is reported; a path made from it would only add noise
			def(&f.Path, ClustersDir+"/"+c.Name)
		}

		cl := &c.Cilium
		def(&cl.Repository, DefaultCiliumRepository)
		def(&cl.Namespace, DefaultCiliumNamespace)
		def(&cl.IPAM, DefaultIPAM)
		def(&cl.Encryption, DefaultEncryption)
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
			def(&cl.K8sService.Host, c.APIServer.Host)
			if cl.K8sService.Port == 0 {
				cl.K8sService.Port = c.APIServer.Port
			}
		}
		for j := range c.Secrets {
			def(&c.Secrets[j].Type, DefaultSecretType)
		}
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
