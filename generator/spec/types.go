package spec

// APIVersion and Kind identify a kronform-gen spec document. The version moves when a field changes meaning.
const (
	APIVersion = "kronform.dev/v1alpha1"
	Kind       = "ClusterSpec"
)

// Spec is the whole file: fleet-wide defaults and one or more clusters.
type Spec struct {
	APIVersion string `json:"apiVersion" jsonschema:"enum=kronform.dev/v1alpha1"`
	Kind       string `json:"kind" jsonschema:"enum=ClusterSpec"`
	// RepositoryPath is the output tree's folder in the git repository Flux follows: every path Flux resolves (a
	// Kustomization's spec.path, flux bootstrap's --path) starts there. "" when the tree is that repository's root.
	RepositoryPath string        `json:"repositoryPath,omitempty" jsonschema:"minLength=1,description=The output tree's folder in the git repository Flux follows: output when that repository holds the spec and output/ together (flux bootstrap --path output/clusters/<cluster>). Default: the repository's root."`
	Defaults       FleetDefaults `json:"defaults,omitempty" jsonschema:"description=Settings every cluster inherits unless it sets its own."`
	Clusters       []Cluster     `json:"clusters" jsonschema:"minItems=1"`
}

// FleetDefaults are inherited by every cluster that does not set the same field.
type FleetDefaults struct {
	// AgeRecipients encrypt every cluster's secrets unless the cluster lists its own.
	AgeRecipients []string `json:"ageRecipients,omitempty" jsonschema:"description=age public keys (age1...) that can decrypt the secrets."`
	Flux          Flux     `json:"flux,omitempty"`
}

// Cluster is one Kubernetes cluster: its nodes and everything Flux reconciles into it.
type Cluster struct {
	Name          string       `json:"name" jsonschema:"description=DNS-1123 label; names the cluster's folders."`
	Domain        string       `json:"domain,omitempty" jsonschema:"minLength=1,description=Cluster DNS domain (default cluster.local)."`
	APIServer     Endpoint     `json:"apiServer" jsonschema:"description=The Kubernetes API endpoint as clients reach it."`
	Nodes         []Node       `json:"nodes" jsonschema:"minItems=1"`
	Flux          Flux         `json:"flux,omitempty"`
	Cilium        Cilium       `json:"cilium"`
	HostPolicies  []HostPolicy `json:"hostPolicies,omitempty"`
	Secrets       []Secret     `json:"secrets,omitempty"`
	AgeRecipients []string     `json:"ageRecipients,omitempty" jsonschema:"minItems=1,description=age public keys for this cluster's secrets; replaces defaults.ageRecipients."`
	Hetzner       *Hetzner     `json:"hetzner,omitempty"`
	Assertions    []Assertion  `json:"assertions,omitempty"`
}

// Endpoint is a host name or address and a TCP port.
type Endpoint struct {
	Host string `json:"host"`
	Port int    `json:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
}

// Node is one machine of the cluster.
type Node struct {
	Name      string            `json:"name"`
	Addresses []string          `json:"addresses,omitempty" jsonschema:"description=Public IPv4/IPv6 addresses."`
	Roles     []string          `json:"roles" jsonschema:"minItems=1,enum=control-plane,enum=worker"`
	Labels    map[string]string `json:"labels,omitempty" jsonschema:"description=Extra node labels (as set in the Talos machine config)."`
}

// Node roles.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Flux says where the cluster's Flux installation lives and how often it reconciles.
type Flux struct {
	Namespace     string `json:"namespace,omitempty" jsonschema:"minLength=1,description=Namespace of the Flux controllers (default flux-system)."`
	GitRepository string `json:"gitRepository,omitempty" jsonschema:"minLength=1,description=Name of the GitRepository that flux bootstrap created (default flux-system)."`
	Interval      string `json:"interval,omitempty" jsonschema:"minLength=1,pattern=^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$,description=Reconcile interval of the generated Kustomizations (default 10m)."`
	RetryInterval string `json:"retryInterval,omitempty" jsonschema:"minLength=1,pattern=^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$,description=Retry interval after a failed reconcile (default 2m)."`
	Timeout       string `json:"timeout,omitempty" jsonschema:"minLength=1,pattern=^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$,description=Timeout for apply and health checks (default 5m)."`
	Path          string `json:"path,omitempty" jsonschema:"minLength=1,description=The cluster's folder in the tree: a folder directly in clusters/ (default clusters/<name>). It is the --path given to flux bootstrap; under repositoryPath when that is set (output/clusters/<name>)."`
}

// Cilium configures the Cilium Helm release.
type Cilium struct {
	Version              string         `json:"version" jsonschema:"description=Chart version: exact (1.13.4) or a semver range (~1.15.0)."`
	Repository           string         `json:"repository,omitempty" jsonschema:"minLength=1,pattern=^(http|https|oci)://.*$,description=Helm repository URL (default https://helm.cilium.io/)."`
	Namespace            string         `json:"namespace,omitempty" jsonschema:"minLength=1,description=Namespace Cilium runs in (default kube-system)."`
	IPAM                 string         `json:"ipam,omitempty" jsonschema:"minLength=1,description=ipam.mode (default kubernetes)."`
	KubeProxyReplacement *bool          `json:"kubeProxyReplacement,omitempty" jsonschema:"description=Replace kube-proxy (default true; written as strict before 1.14)."`
	HostFirewall         *bool          `json:"hostFirewall,omitempty" jsonschema:"description=Enforce host policies (default true)."`
	Hubble               Hubble         `json:"hubble,omitempty"`
	Encryption           string         `json:"encryption,omitempty" jsonschema:"enum=none,enum=wireguard,enum=ipsec,description=Transparent encryption between nodes (default none)."`
	K8sService           K8sService     `json:"k8sService,omitempty" jsonschema:"description=How Cilium reaches the API server (default: apiServer)."`
	AuditMode            bool           `json:"auditMode,omitempty" jsonschema:"description=policyAuditMode: report policy drops instead of dropping."`
	Values               map[string]any `json:"values,omitempty" jsonschema:"description=Raw Helm values deep-merged last."`
}

// Hubble switches Hubble's relay and UI.
type Hubble struct {
	Relay bool `json:"relay,omitempty"`
	UI    bool `json:"ui,omitempty"`
}

// K8sService is the API endpoint Cilium uses before kube-proxy replacement has built the service.
type K8sService struct {
	Host      string `json:"host,omitempty" jsonschema:"minLength=1"`
	Port      int    `json:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
	KubePrism bool   `json:"kubePrism,omitempty" jsonschema:"description=Use Talos KubePrism (localhost:7445)."`
}

// HostPolicy is a host firewall policy: a CiliumClusterwideNetworkPolicy selecting nodes.
type HostPolicy struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Preset      string       `json:"preset,omitempty" jsonschema:"description=A preset from templates/presets whose fields this policy extends."`
	Nodes       *NodeMatch   `json:"nodes,omitempty" jsonschema:"description=Which nodes the policy selects; {} selects every node."`
	Ingress     []PolicyRule `json:"ingress,omitempty"`
	IngressDeny []PolicyRule `json:"ingressDeny,omitempty"`
	Egress      []PolicyRule `json:"egress,omitempty"`
	EgressDeny  []PolicyRule `json:"egressDeny,omitempty"`
}

// NodeMatch selects nodes by role or by labels (both must hold when both are given).
type NodeMatch struct {
	Role   string            `json:"role,omitempty" jsonschema:"enum=control-plane,enum=worker"`
	Labels map[string]string `json:"labels,omitempty"`
}

// PolicyRule allows (or denies) traffic between the selected nodes and peers on ports. Peers of different kinds, and ICMP
// next to ports, are split into several Cilium rules by the compiler. A rule with no peers matches any peer.
type PolicyRule struct {
	Entities  []string            `json:"entities,omitempty" jsonschema:"minItems=1,description=Cilium entities such as world or remote-node or kube-apiserver."`
	Endpoints []map[string]string `json:"endpoints,omitempty" jsonschema:"minItems=1,description=Pod label selectors (matchLabels)."`
	CIDRs     []CIDRPeer          `json:"cidrs,omitempty" jsonschema:"minItems=1"`
	Ports     []string            `json:"ports,omitempty" jsonschema:"description=PORT/PROTO or LOW-HIGH/PROTO; PROTO is tcp or udp or sctp or any."`
	ICMP      []ICMPType          `json:"icmp,omitempty"`
}

// CIDRPeer is a CIDR, optionally with holes.
type CIDRPeer struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// ICMPType is one ICMP (IPv4) or ICMPv6 type. Type is required (a validated model never holds nil): left out, it would
// be type 0 (echo reply), which nobody means.
type ICMPType struct {
	Family string         `json:"family,omitempty" jsonschema:"enum=IPv4,enum=IPv6,description=Default IPv4."`
	Type   *ICMPTypeValue `json:"type"`
}

// ICMPTypeValue is an ICMP type as the spec writes it: its number (0-255), or the name Cilium gives it for the rule's
// family (EchoRequest is 8 for IPv4 and 128 for IPv6). Validation turns a name into its number, which is what the
// policies are written with (names came with Cilium 1.16): a validated model's Number is the type.
type ICMPTypeValue struct {
	Number int
	Name   string // as written, when the type is given by name
}

// setScalar takes the type from a YAML scalar: a whole number or a name. An empty name is none: taken, it would leave
// the type 0 (echo reply).
func (t *ICMPTypeValue) setScalar(tag, value string) bool {
	switch tag {
	case "!!int", "!!float":
		n, ok := wholeNumber(tag, value)
		t.Number = n
		return ok
	case "!!str":
		t.Name = value
		return value != ""
	}
	return false
}

func (*ICMPTypeValue) expected() string {
	return "an ICMP type: a number 0-255, or a name such as EchoRequest"
}

func (c *CIDRPeer) fromScalar(value string) { c.CIDR = value }
