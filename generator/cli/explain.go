package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/spec"
)

// cluster picks the cluster a firewall command is about: the one named, or the only one.
func (a *app) cluster(m *spec.Model, name string) (spec.Cluster, error) {
	var names []string
	for _, c := range m.Clusters {
		if c.Name == name || (name == "" && len(m.Clusters) == 1) {
			return c, nil
		}
		names = append(names, c.Name)
	}
	if name == "" {
		return spec.Cluster{}, fail(ExitUsage, "the spec has %d clusters; name one with --cluster (%s)", len(names), strings.Join(names, ", "))
	}
	return spec.Cluster{}, fail(ExitUsage, "no cluster %q in %s (%s)", name, a.specPath, strings.Join(names, ", "))
}

func writeJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(ExitFailure, "encoding JSON: %v", err)
	}
	return nil
}

func checkOutput(format string) error {
	if !slices.Contains([]string{"text", "json"}, format) {
		return fail(ExitUsage, "--output is text or json, not %q", format)
	}
	return nil
}

func (a *app) explainCommand() *cobra.Command {
	var from, to, port, clusterName, output string
	cmd := &cobra.Command{
		Use:   "explain --from SRC --to NODE|ROLE --port PORT/PROTO",
		Short: "Show which firewall layer lets a flow through or drops it, and which rule decided",
		Long: `explain traces one flow offline through both firewall layers, as they would be applied:
the Hetzner Robot template (first matching rule wins; stateless), then the Cilium host firewall of the sending node
(node senders) and of the destination node (the compiled CiliumClusterwideNetworkPolicies: selection by node labels
after Cilium's label filter, default deny once selected, deny wins, allows are a union, entities expanded, CIDR peers
never match nodes, ICMP only where allowed), then the end result. With audit mode on, a Cilium drop is shown as
"would drop, passes".

Sources: admin (hetzner.adminSources), world, an address or CIDR, an entity (kube-apiserver, remote-node, host,
health, or entity:NAME; remote-node is every other node and kube-apiserver every other control plane, one flow from
each), a node or role name (node:NAME, role:NAME; node-to-node traffic), pod:KEY=VALUE[,KEY=VALUE].
Ports: PORT/tcp, PORT/udp, PORT/sctp, icmp (ping), icmp:TYPE, icmpv6, icmpv6:TYPE (TYPE a number, or Cilium's
name for it in that family: icmpv6:NeighborSolicitation).

The agents are judged as the Cilium release(s) they may run (the chart's version or range, or the image the values
pin), as verify judges them. Where those releases give the flow different verdicts (an agent before 1.16 enforces a
port range as its first port; some releases hand neighbour solicitations to the host policies, others pass them), each
set of releases gets its own trace under "on Cilium RELEASES:", and the result says which releases allow the flow and
which drop it; it counts as allowed only where every release allows it (JSON: "allowed" is false, "byRelease" holds
each trace), and verify fails an assertion of either verdict on it.

explain exits 0 whatever the verdict; verify turns verdicts into pass or fail.

` + exitCodesHelp,
		Example: `  kronform-gen explain --from admin --to n1 --port 6443/tcp
  kronform-gen explain --from world --to control-plane --port 2379/tcp
  kronform-gen explain --from remote-node --to n1 --port 8472/udp
  kronform-gen explain --from pod:k8s-app=hubble-relay --to n1 --port 4244/tcp
  kronform-gen explain --from world --to n1 --port icmp --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			for flag, v := range map[string]string{"--from": from, "--to": to, "--port": port} {
				if v == "" {
					return fail(ExitUsage, "%s is required", flag)
				}
			}
			m, err := a.load()
			if err != nil {
				return err
			}
			c, err := a.cluster(m, clusterName)
			if err != nil {
				return err
			}
			traces, err := firewall.ExplainAssertion(c, spec.Assertion{From: from, To: to, Port: port})
			if err != nil {
				return fail(ExitUsage, "%v", err)
			}
			if output == "json" {
				return writeJSON(a, traces)
			}
			for i, t := range traces {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				fmt.Fprint(a.stdout, t)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the sender: admin, world, ADDRESS[/BITS], an entity, a node or role, pod:KEY=VALUE")
	f.StringVar(&to, "to", "", "the destination node or role")
	f.StringVar(&port, "port", "", "PORT/PROTO, icmp[:TYPE] or icmpv6[:TYPE]")
	f.StringVar(&clusterName, "cluster", "", "the cluster (needed when the spec has several)")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
