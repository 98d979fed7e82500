package secrets

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/kronform/kronform-gen/generator/manifest"
)

// ConfigFile is the name of the sops configuration at the tree root.
const ConfigFile = ".sops.yaml"

// Rule is one creation rule of .sops.yaml: the secrets folder of one cluster and its recipients.
type Rule struct {
	Dir        string // slash-separated, relative to the tree root
	Recipients []string
}

// PathRegex matches the secret files under dir (dir/<namespace>/<name>.yaml), not dir's kustomization.yaml. sops
// strips the config's folder from an absolute path but matches a relative one as the user typed it, so the regex is
// anchored at a path boundary rather than at the start.
func PathRegex(dir string) string {
	return `(^|/)` + regexp.QuoteMeta(dir) + `/[^/]+/[^/]+\.yaml$`
}

// Config renders .sops.yaml so that `sops edit` or `sops -e` on a generated path picks the same recipients and
// settings kronform-gen uses, and writes 2-space YAML like the rest of the tree.
func Config(rules []Rule) ([]byte, error) {
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b Rule) int {
		switch {
		case a.Dir < b.Dir:
			return -1
		case a.Dir > b.Dir:
			return 1
		}
		return 0
	})
	var creation []map[string]any
	for _, r := range rules {
		creation = append(creation, map[string]any{
			"path_regex":      PathRegex(r.Dir),
			"encrypted_regex": EncryptedRegex,
			"age":             sortedCopy(r.Recipients),
		})
	}
	b, err := manifest.Encode(map[string]any{
		"creation_rules": creation,
		"stores":         map[string]any{"yaml": map[string]any{"indent": Indent}},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return b, nil
}
