// Package templates embeds the presets a spec can name (host policy presets under presets/), so the binary works on its
// own; a user's --templates folder overrides them file by file.
package templates

import "embed"

// FS holds presets/*.yaml.
//
//go:embed presets/*.yaml
var FS embed.FS
