package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/spec"
)

func (a *app) verifyCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every reachability assertion through the Hetzner and Cilium layers",
		Long: `verify evaluates the spec's assertions and the built-in ones through the Hetzner Robot template and the
compiled Cilium host policies, offline. Built-in assertions are always added: the admin sources reach 6443 and
50000 on every control plane (without a hetzner block: someone outside the cluster does, the world or an address of
a CIDR the policies let in); nodes reach each other where Talos, etcd, the kubelet and Cilium need it; hubble-relay
reaches 4244 on every node when the relay is on. An assertion is judged on the enforced verdict: audit mode does not
make a drop pass. The agents are judged as every Cilium release they may run (the chart's version or range, or the
image the values pin): an assertion holds only where it holds on each, so a flow some releases drop and others allow
fails an assertion of either verdict (explain shows each release's trace). Each failure is printed with its explain
trace.

generate runs the same checks and refuses to write a tree with audit mode off while any of them fails.

` + exitCodesHelp,
		Example: `  kronform-gen verify
  kronform-gen verify --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			m, err := a.load()
			if err != nil {
				return err
			}
			checks := firewall.Verify(m)
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if output == "json" {
				if err := writeJSON(a, checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					if c.OK {
						fmt.Fprintf(a.stdout, "ok    %s: %s\n", c.Cluster, describeCheck(m, c))
					}
				}
				printFailures(a.stdout, m, checks, nil)
			}
			if failed > 0 {
				fmt.Fprintf(a.stderr, "%d of %d assertion(s) fail\n", failed, len(checks))
				return silent(ExitFailure)
			}
			fmt.Fprintf(a.stderr, "all %d assertion(s) hold\n", len(checks))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// describeCheck names an assertion: where it stands in the spec, or why it is built in.
func describeCheck(m *spec.Model, c firewall.Check) string {
	if c.Path != "" {
		return m.Problem(c.Path, "", "%s", c).String()
	}
	return fmt.Sprintf("built-in: %s (%s)", c, c.Why)
}

// printFailures prints each failed check that only keeps (all when nil) with the trace of every flow that broke it,
// and returns how many it printed.
func printFailures(w io.Writer, m *spec.Model, checks []firewall.Check, only func(firewall.Check) bool) int {
	n := 0
	for _, c := range checks {
		if c.OK || (only != nil && !only(c)) {
			continue
		}
		n++
		fmt.Fprintf(w, "FAIL  %s: %s\n", c.Cluster, describeCheck(m, c))
		if c.Error != "" {
			fmt.Fprintf(w, "      %s\n", c.Error)
			continue
		}
		for _, t := range c.Failed() {
			fmt.Fprintf(w, "      expected %s, got %s:\n", c.Assertion.Expect, t.Verdict())
			for _, line := range strings.Split(strings.TrimRight(t.String(), "\n"), "\n") {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	}
	return n
}

// auditGuard is the seed's "final exam", made safe: a cluster leaves audit mode only when every assertion holds.
// Clusters still in audit mode only get a warning, since audit mode is where policies are worked out, unless an
// expected allow fails even now: audit mode lets Cilium's policy drops pass, not the Robot firewall's nor those of
// Cilium's datapath before any policy (a family the agents do not run), so such a tree locks out in audit mode too.
func (a *app) auditGuard(m *spec.Model) error {
	checks := firewall.Failures(m) // a check that passes says nothing here
	enforcing := map[string]bool{}
	for _, c := range m.Clusters {
		enforcing[c.Name] = !c.Cilium.AuditMode
	}
	refused := func(c firewall.Check) bool { return enforcing[c.Cluster] || c.FailsInAuditMode() }
	var auditing []string
	seen := map[string]bool{}
	for _, c := range checks {
		if !c.OK && !refused(c) && !seen[c.Cluster] {
			seen[c.Cluster] = true
			auditing = append(auditing, c.Cluster)
		}
	}
	for _, name := range auditing {
		fmt.Fprintf(a.stderr, "warning: cluster %s: assertions fail; audit mode lets the drops pass for now, and generate will refuse to turn it off (run kronform-gen verify)\n", name)
	}
	n := printFailures(a.stderr, m, checks, refused)
	if n == 0 {
		return nil
	}
	// Audit mode is a way to work on the failures only when it lifts them all: in an audited cluster it already
	// would have, and in one out of audit mode a failure it would not lift gets the tree refused with it on too.
	unliftable := slices.ContainsFunc(checks, func(c firewall.Check) bool { return c.FailsInAuditMode() })
	if !unliftable {
		if exposesOnly(checks, refused) {
			// Audit mode lifts drops; it cannot close what the policies leave open, and with it on they drop nothing.
			return fail(ExitFailure, "refusing to write %s: %d assertion(s) fail with audit mode off, so these policies %s; fix them (audit mode is no way to work on these: with it on, the host policies drop nothing at all)", a.outDir, n, harm(checks, refused))
		}
		return fail(ExitFailure, "refusing to write %s: %d assertion(s) fail with audit mode off, so these policies %s; fix them, or set cilium.auditMode: true while you work on them", a.outDir, n, harm(checks, refused))
	}
	// The fault is not (only) in the host policies: audit mode lets their drops pass, so pointing at "these policies",
	// or at audit mode, would send the reader to the wrong layer.
	return fail(ExitFailure, "refusing to write %s: %d assertion(s) fail, and audit mode does not lift them all: it lets Cilium's policy drops pass, not what the Robot firewall or Cilium's datapath drops before any policy, nor a flow no address can carry, so this tree %s; fix what the traces above name: the hetzner rules that discard, cilium.values for a family the agents do not run (ipv4.enabled, ipv6.enabled), a node's addresses (a family it has none in), the host policies of a cluster out of audit mode, or an assertion that is wrong", a.outDir, n, harm(checks, refused))
}

// harm words what the failed checks of the enforcing clusters mean: an expected allow that fails cuts someone off,
// an expected deny that fails leaves open what should be closed. Saying "lock you out" for an exposure sends the
// reader looking for the wrong problem.
func harm(checks []firewall.Check, refused func(firewall.Check) bool) string {
	var lockout, exposure bool
	for _, c := range checks {
		if c.OK || !refused(c) {
			continue
		}
		if c.Assertion.Expect == spec.Denied {
			exposure = true
		} else {
			lockout = true
		}
	}
	switch {
	case lockout && exposure:
		return "could lock you out and expose what should be denied"
	case exposure:
		return "would expose what should be denied"
	}
	return "could lock you out"
}

// exposesOnly says whether every refused failure is an expected deny that is allowed: nothing to lift.
func exposesOnly(checks []firewall.Check, refused func(firewall.Check) bool) bool {
	return !slices.ContainsFunc(checks, func(c firewall.Check) bool {
		return !c.OK && refused(c) && c.Assertion.Expect != spec.Denied
	})
}
