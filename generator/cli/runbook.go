package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kronform/kronform-gen/generator/firewall"
)

func (a *app) runbookCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "Print imperative procedures for this cluster",
		Args:  cobra.NoArgs,
	}
	var clusterName string
	audit := &cobra.Command{
		Use:   "audit on|off",
		Short: "Print the kubectl steps that switch Cilium's policy audit mode on or off for each node's host endpoint",
		Long: `runbook audit prints the seed's procedure for each node of the cluster: find the cilium pod on the node, the
host endpoint (identity 1), set PolicyAuditMode, check it, and watch 'cilium monitor -t policy-verdict --related-to'.
It only prints; nothing is run. The output runs as a script from the first node to the last: the monitor steps,
which never end by themselves, are printed commented out, to paste after a node's block to watch that node.

Per-endpoint audit mode resets when an agent restarts; cilium.auditMode in the spec is the lasting switch, and the
agents read it only when they start. When the spec already asks for this direction, the last step restarts them
(kubectl rollout restart daemonset/cilium) once cilium-config says so, that is once Flux has applied it; otherwise
it says how to change the spec, and the restart to run after.

'off' is refused (exit 1, each failure with its trace) while any assertion fails, exactly like generate with audit
mode off: leaving audit mode is when a bad policy locks you out.

` + exitCodesHelp,
		Example: `  kronform-gen runbook audit on
  kronform-gen runbook audit off --cluster kronform > audit-off.sh`,
		ValidArgs: []string{"on", "off"},
		Args:      cobra.MatchAll(exactlyOne("on or off"), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := a.load()
			if err != nil {
				return err
			}
			c, err := a.cluster(m, clusterName)
			if err != nil {
				return err
			}
			on := args[0] == "on"
			if !on {
				checks := firewall.Verify(m)
				if n := printFailures(a.stderr, m, checks, func(ch firewall.Check) bool { return ch.Cluster == c.Name }); n > 0 {
					return fail(ExitFailure, "refusing to print the steps out of audit mode: %d assertion(s) fail for cluster %s", n, c.Name)
				}
			}
			text, err := firewall.AuditRunbook(c, on)
			if err != nil {
				return fail(ExitUsage, "%v", err)
			}
			fmt.Fprint(a.stdout, text)
			return nil
		},
	}
	audit.Flags().StringVar(&clusterName, "cluster", "", "the cluster (needed when the spec has several)")
	cmd.AddCommand(audit)
	return cmd
}
