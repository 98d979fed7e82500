package validate

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ciliumAgentRules are checks the CRD schema misses but the Cilium agent makes when it imports a policy
// (pkg/policy/api/rule_validation.go): a port outside 0-65535 passes the API server, because the CRD's port pattern
// only anchors its first alternative ("70000" matches on "7000"), and then the agent refuses the whole policy, with
// nothing but the CCNP status to tell. Only numeric ports are checked here; names are the schema's business.
func ciliumAgentRules(obj map[string]any) []FieldError {
	var out []FieldError
	check := func(rule map[string]any, p *field.Path) {
		toPorts, _ := rule["toPorts"].([]any)
		for i, tp := range toPorts {
			tpm, _ := tp.(map[string]any)
			ports, _ := tpm["ports"].([]any)
			for j, pp := range ports {
				ppm, _ := pp.(map[string]any)
				port, ok := ppm["port"].(string)
				if !ok || port == "" || !isDigits(port) {
					continue
				}
				if _, err := strconv.ParseUint(port, 10, 16); err != nil {
					out = append(out, FieldError{
						Field:   p.Child("toPorts").Index(i).Child("ports").Index(j).Child("port").String(),
						Message: fmt.Sprintf("Invalid value: %q: a port number must be 0-65535; the API server accepts it (the CRD pattern is loose) but the Cilium agent refuses the policy", port),
					})
				}
			}
		}
	}
	walkRules := func(spec map[string]any, p *field.Path) {
		for _, dir := range []string{"ingress", "ingressDeny", "egress", "egressDeny"} {
			rules, _ := spec[dir].([]any)
			for i, r := range rules {
				if rm, ok := r.(map[string]any); ok {
					check(rm, p.Child(dir).Index(i))
				}
			}
		}
	}
	if spec, ok := obj["spec"].(map[string]any); ok {
		walkRules(spec, field.NewPath("spec"))
	}
	specs, _ := obj["specs"].([]any)
	for i, s := range specs {
		if sm, ok := s.(map[string]any); ok {
			walkRules(sm, field.NewPath("specs").Index(i))
		}
	}
	return out
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
