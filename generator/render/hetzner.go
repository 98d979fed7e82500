package render

import (
	"net/url"
	"path"
	"strings"

	"github.com/kronform/kronform-gen/generator/firewall"
	"github.com/kronform/kronform-gen/generator/spec"
	"github.com/kronform/kronform-gen/generator/tree"
)

// HetznerRoot holds the clusters' Robot firewall templates, one folder each (HetznerDir).
const HetznerRoot = "hetzner"

// The files of a cluster's template: the Robot API's JSON, and the form body that uploads it.
const (
	HetznerJSONFile = "firewall-template.json"
	HetznerFormFile = "firewall-template.form"
)

// HetznerDir holds a cluster's Robot firewall template, outside every Flux path: Flux must never apply it, the admin
// uploads it (curl -d @firewall-template.form) when the escape hatch changes.
func HetznerDir(c spec.Cluster) string { return path.Join(HetznerRoot, c.Name) }

func renderHetzner(t *tree.Tree, c spec.Cluster) error {
	tpl, ok := firewall.BuildTemplate(c)
	if !ok {
		return nil
	}
	data, err := tpl.JSON()
	if err != nil {
		return err
	}
	dir := HetznerDir(c)
	if err := t.Add(path.Join(dir, HetznerJSONFile), data); err != nil {
		return err
	}
	return t.Add(path.Join(dir, HetznerFormFile), tpl.Form())
}

// HetznerTemplateName is the Robot template name a firewall-template.form holds (its name parameter), "" when it holds
// none. Robot knows a template by its name, so files that move between folders under one name are one template.
func HetznerTemplateName(form []byte) string {
	q, err := url.ParseQuery(strings.ReplaceAll(string(form), "\n", ""))
	if err != nil {
		return ""
	}
	return q.Get("name")
}
