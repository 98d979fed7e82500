// Package firewall builds the Hetzner Robot escape-hatch template and proves offline, through both the Robot firewall
// and the compiled Cilium host policies, which flows reach which node.
package firewall
