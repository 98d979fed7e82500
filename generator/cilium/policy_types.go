package cilium

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The CiliumClusterwideNetworkPolicy shape, cilium.io/v2, limited to the host firewall fields kronform-gen writes.
// Field order follows the way people write these policies (description, selector, rules; peers before ports).

// ClusterwideNetworkPolicy is a CiliumClusterwideNetworkPolicy.
type ClusterwideNetworkPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PolicySpec `json:"spec"`
}

// PolicySpec is the policy's one rule set.
type PolicySpec struct {
	Description  string                `json:"description,omitempty"`
	NodeSelector *metav1.LabelSelector `json:"nodeSelector"`
	Ingress      []IngressRule         `json:"ingress,omitempty"`
	IngressDeny  []IngressRule         `json:"ingressDeny,omitempty"`
	Egress       []EgressRule          `json:"egress,omitempty"`
	EgressDeny   []EgressRule          `json:"egressDeny,omitempty"`
}

// IngressRule allows or denies traffic from one kind of peer.
type IngressRule struct {
	FromEntities  []string               `json:"fromEntities,omitempty"`
	FromEndpoints []metav1.LabelSelector `json:"fromEndpoints,omitempty"`
	FromCIDR      []string               `json:"fromCIDR,omitempty"`
	FromCIDRSet   []CIDRRule             `json:"fromCIDRSet,omitempty"`
	ToPorts       []PortRule             `json:"toPorts,omitempty"`
	ICMPs         []ICMPRule             `json:"icmps,omitempty"`
}

// EgressRule allows or denies traffic to one kind of peer.
type EgressRule struct {
	ToEntities  []string               `json:"toEntities,omitempty"`
	ToEndpoints []metav1.LabelSelector `json:"toEndpoints,omitempty"`
	ToCIDR      []string               `json:"toCIDR,omitempty"`
	ToCIDRSet   []CIDRRule             `json:"toCIDRSet,omitempty"`
	ToPorts     []PortRule             `json:"toPorts,omitempty"`
	ICMPs       []ICMPRule             `json:"icmps,omitempty"`
}

// CIDRRule is a CIDR with holes.
type CIDRRule struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// PortRule lists the ports a rule opens.
type PortRule struct {
	Ports []PortProtocol `json:"ports"`
}

// PortProtocol is one port or port range.
type PortProtocol struct {
	Port     string `json:"port"`
	EndPort  int32  `json:"endPort,omitempty"`
	Protocol string `json:"protocol"`
}

// ICMPRule lists ICMP types.
type ICMPRule struct {
	Fields []ICMPField `json:"fields"`
}

// ICMPField is one ICMP type of one family.
type ICMPField struct {
	Type   int    `json:"type"`
	Family string `json:"family"`
}
