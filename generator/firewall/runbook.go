package firewall

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/kronform/kronform-gen/generator/cilium"
	"github.com/kronform/kronform-gen/generator/spec"
)

// agentCLIRename is the release that renamed the agent pod's CLI from cilium to cilium-dbg.
var agentCLIRename = semver.MustParse("1.15.0")

// agentCLIProbe asks the agent's container which CLI it has, for agents that may run a release on either side of
// agentCLIRename (a range across it, an image pinned by a digest): the agent image is Ubuntu's, with a POSIX sh.
const agentCLIProbe = `sh -c 'command -v cilium-dbg >/dev/null && echo cilium-dbg || echo cilium'`

// AuditRunbook is the seed's imperative procedure for one cluster, node by node: find the Cilium agent on the node,
// the host endpoint (identity 1), set PolicyAuditMode, check it, and (commented out, as it never ends) watch the
// policy verdicts. Per-endpoint audit mode resets when the agent restarts; the declarative switch is
// cilium.auditMode, which the agents read (policy-audit-mode in cilium-config) only when they start, and the chart
// restarts them on a change of cilium-config only with rollOutCiliumPods. So the last step restarts them once
// cilium-config says what the spec does, when the spec already asks for this direction; otherwise it says how to get
// there, since a restart would bring the spec's setting back.
func AuditRunbook(c spec.Cluster, on bool) (string, error) {
	if _, err := spec.ResolveCiliumVersion(c.Cilium.Version); err != nil {
		return "", err
	}
	// The CLI is the agent image's: the release the values pin, else the chart's (cilium.AgentsOf).
	agents := cilium.AgentsOf(c.Cilium.Version, c.Cilium.Values)
	releases := agents.Releases()
	renamed := 0
	for _, v := range releases {
		if !v.LessThan(agentCLIRename) {
			renamed++
		}
	}
	agent, probe := "cilium", false
	switch {
	case renamed == len(releases):
		agent = "cilium-dbg"
	case renamed > 0:
		agent, probe = `"$CLI"`, true
	}
	state, word := "Disabled", "off"
	if on {
		state, word = "Enabled", "on"
	}
	ns := c.Cilium.Namespace
	var b strings.Builder
	fmt.Fprintf(&b, "# Policy audit mode %s for the host endpoints of cluster %s (Cilium %s).\n", word, c.Name, agents)
	b.WriteString("# Per-endpoint audit mode resets when the Cilium agent restarts; cilium.auditMode in the spec is the lasting switch.\n")
	b.WriteString("# Runs as a script (sh FILE), node after node; the monitor steps are commented out as they never end by themselves.\n")
	if c.Cilium.AuditMode != on {
		fmt.Fprintf(&b, "# The spec still sets cilium.auditMode: %t (policyAuditMode for every endpoint), which an agent restart brings back:\n# see the last step.\n", c.Cilium.AuditMode)
	}
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "\n# %s: the cilium pod on the node, then its host endpoint (the one with identity 1)\n", n.Name)
		fmt.Fprintf(&b, "POD=$(kubectl -n %s get pods -l k8s-app=cilium --field-selector spec.nodeName=%s -o jsonpath='{.items[0].metadata.name}')\n", ns, n.Name)
		if probe {
			fmt.Fprintf(&b, "# the agents may run a release from before or from %s, when its CLI became cilium-dbg: ask the pod which it has\n", agentCLIRename)
			fmt.Fprintf(&b, "CLI=$(kubectl -n %s exec \"$POD\" -c cilium-agent -- %s)\n", ns, agentCLIProbe)
		}
		fmt.Fprintf(&b, "EP=$(kubectl -n %s exec \"$POD\" -c cilium-agent -- %s endpoint list -o jsonpath='{[?(@.status.identity.id==1)].id}')\n", ns, agent)
		fmt.Fprintf(&b, "kubectl -n %s exec \"$POD\" -c cilium-agent -- %s endpoint config \"$EP\" PolicyAuditMode=%s\n", ns, agent, state)
		fmt.Fprintf(&b, "kubectl -n %s exec \"$POD\" -c cilium-agent -- %s endpoint config \"$EP\" | grep PolicyAuditMode\n", ns, agent)
		// The monitor runs until it is interrupted: live, it would hold a script (runbook audit off > f.sh; sh f.sh) at
		// the first node forever. Commented, the script switches every node, and the reader pastes it to watch one.
		verdicts := "drops are real now"
		if on {
			verdicts = "action audit marks what would be dropped"
		}
		fmt.Fprintf(&b, "# watch the verdicts on %s (%s); it runs until Ctrl-C, so paste it by hand:\n", n.Name, verdicts)
		fmt.Fprintf(&b, "#   kubectl -n %s exec \"$POD\" -c cilium-agent -- %s monitor -t policy-verdict --related-to \"$EP\"\n", ns, agent)
	}
	restart := fmt.Sprintf("kubectl -n %s rollout restart daemonset/cilium", ns)
	b.WriteString("\n# The lasting switch is cilium.auditMode in the spec. The agents read it (policy-audit-mode in cilium-config) only\n")
	b.WriteString("# when they start, and the chart does not restart them when it changes: restart them once Flux has applied it.\n")
	if c.Cilium.AuditMode != on {
		guard := ""
		if !on {
			guard = ", which refuses while an assertion fails"
		}
		fmt.Fprintf(&b, "# Set cilium.auditMode: %t, run kronform-gen generate%s, commit and push; once Flux has applied it:\n", on, guard)
		fmt.Fprintf(&b, "#   %s\n", restart)
		return b.String(), nil
	}
	test := "="
	if !on {
		test = "!="
	}
	fmt.Fprintf(&b, "if [ \"$(kubectl -n %s get configmap cilium-config -o jsonpath='{.data.policy-audit-mode}')\" %s true ]; then\n", ns, test)
	fmt.Fprintf(&b, "  %s\n", restart)
	fmt.Fprintf(&b, "  kubectl -n %s rollout status daemonset/cilium\n", ns)
	b.WriteString("else\n")
	fmt.Fprintf(&b, "  echo \"cilium-config does not have audit mode %s yet: once Flux has applied the HelmRelease, run %s\" >&2\n", word, restart)
	b.WriteString("fi\n")
	return b.String(), nil
}
