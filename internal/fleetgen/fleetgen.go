package fleetgen

import (
	"fmt"
	"strings"
)

// Spec returns a valid spec of n clusters, clean of warnings. Each has three control planes and two workers, the Talos presets, a custom
// policy with CIDRs, ranges, deny rules and enough ports to be split, and a chart version that varies across the fleet
// so every values vocabulary is exercised.
func Spec(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: kronform.dev/v1alpha1\nkind: ClusterSpec\nclusters:\n")
	versions := []string{"1.13.4", "1.15.6", "~1.16.0", "1.20.2"}
	for i := range n {
		fmt.Fprintf(&b, `  - name: c%04d
    domain: c%04d.example.internal
    apiServer:
      host: api.c%04d.example.com
    nodes:
`, i, i, i)
		for j := range 5 {
			role := "control-plane"
			if j >= 3 {
				role = "worker"
			}
			fmt.Fprintf(&b, "      - name: n%d\n        addresses: [10.%d.%d.%d, \"2001:db8:%x::%x\"]\n        roles: [%s]\n        labels: {zone: z%d}\n",
				j, (i/250)%250, i%250, j+1, i, j+1, role, j%2)
		}
		fmt.Fprintf(&b, `    cilium:
      version: "%s"
      hubble: {relay: true, ui: %t}
      encryption: wireguard
      k8sService: {kubePrism: true}
      auditMode: %t
      values:
        operator: {replicas: 2}
        ipv6: {enabled: true} # the nodes are dual-stack: without it the host firewall drops their IPv6
    hostPolicies:
      - name: host-fw-control-plane
        preset: talos-control-plane
      - name: host-fw-worker
        preset: talos-worker
      - name: monitoring
        nodes: {labels: {zone: z0}}
        ingress:
          - cidrs: [{cidr: 172.16.0.0/12, except: [172.16.99.0/24]}] # a monitoring network, not the nodes
            ports: [9962-9964/tcp, 9100/tcp]
          - endpoints: [{app: prometheus}]
            ports: [%s]
        ingressDeny:
          - entities: [world]
            ports: [2379-2380/tcp]
`, versions[i%len(versions)], i%2 == 0, i%3 == 0, manyPorts(45))
	}
	return []byte(b.String())
}

// manyPorts lists more ports than one Cilium rule may carry, so the compiler's splitting is part of every fleet.
func manyPorts(n int) string {
	ports := make([]string, n)
	for i := range ports {
		ports[i] = fmt.Sprintf("%d/tcp", 20000+i)
	}
	return strings.Join(ports, ", ")
}
