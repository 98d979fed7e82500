package spec

func (v *validator) hetzner(p string, c *Cluster) {}

func (v *validator) assertions(p string, c *Cluster) {}
