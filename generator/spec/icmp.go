package spec

import (
	"maps"
	"slices"
)

// ICMP type names, as Cilium reads them in a policy's icmps.fields[].type (pkg/policy/api/icmp.go, since 1.16), per
// family. A name is written as its number, which every chart version takes.
var (
	icmpV4Names = map[string]int{
		"EchoReply": 0, "DestinationUnreachable": 3, "Redirect": 5, "Echo": 8, "EchoRequest": 8,
		"RouterAdvertisement": 9, "RouterSelection": 10, "TimeExceeded": 11, "ParameterProblem": 12, "Timestamp": 13,
		"TimestampReply": 14, "Photuris": 40, "ExtendedEchoRequest": 42, "ExtendedEchoReply": 43,
	}
	icmpV6Names = map[string]int{
		"DestinationUnreachable": 1, "PacketTooBig": 2, "TimeExceeded": 3, "ParameterProblem": 4, "EchoRequest": 128,
		"EchoReply": 129, "MulticastListenerQuery": 130, "MulticastListenerReport": 131, "MulticastListenerDone": 132,
		"RouterSolicitation": 133, "RouterAdvertisement": 134, "NeighborSolicitation": 135,
		"NeighborAdvertisement": 136, "RedirectMessage": 137, "RouterRenumbering": 138, "ICMPNodeInformationQuery": 139,
		"ICMPNodeInformationResponse": 140, "InverseNeighborDiscoverySolicitation": 141,
		"InverseNeighborDiscoveryAdvertisement": 142, "HomeAgentAddressDiscoveryRequest": 144,
		"HomeAgentAddressDiscoveryReply": 145, "MobilePrefixSolicitation": 146, "MobilePrefixAdvertisement": 147,
		"DuplicateAddressRequestCodeSuffix": 157, "DuplicateAddressConfirmationCodeSuffix": 158,
		"ExtendedEchoRequest": 160, "ExtendedEchoReply": 161,
	}
)

// icmpNames are the type names of a family (IPv4 or IPv6).
func icmpNames(family string) map[string]int {
	if family == "IPv6" {
		return icmpV6Names
	}
	return icmpV4Names
}

// ICMPTypeNames lists every name either family has, sorted: the names the JSON schema offers.
func ICMPTypeNames() []string {
	all := maps.Clone(icmpV4Names)
	maps.Copy(all, icmpV6Names)
	return slices.Sorted(maps.Keys(all))
}
