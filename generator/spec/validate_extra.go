package spec

import (
	"fmt"
	"regexp"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v *validator) secrets(p string, c *Cluster) {
	names := map[string]string{}
	for i, s := range c.Secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, i)
		v.dnsSubdomain(sp+".name", s.Name)
		v.dnsLabel(sp+".namespace", s.Namespace)
		id := s.Namespace + "/" + s.Name
		if first, ok := names[id]; ok {
			v.fail(sp+".name", "", "secret %s is already defined at %s", id, first)
		}
		names[id] = sp
		if len(s.Data) == 0 {
			v.fail(sp+".data", "", "a secret needs at least one key")
		}
		for k, src := range s.Data {
			kp := sp + ".data." + k
			switch {
			case src.Env != "" && src.File != "":
				v.fail(kp, "", "give env or file, not both")
			case src.Env == "" && src.File == "":
				v.fail(kp, "env: VARIABLE or file: PATH", "a value source is required (values never stand in the spec)")
			case src.Env != "" && !envName.MatchString(src.Env):
				v.fail(kp+".env", "", "%q is not an environment variable name", src.Env)
			}
		}
	}
	if len(c.Secrets) > 0 && len(c.AgeRecipients) == 0 {
		v.fail(p+".ageRecipients", "list age recipients on the cluster or in defaults.ageRecipients", "the cluster has secrets but no age recipients to encrypt them for")
	}
}
