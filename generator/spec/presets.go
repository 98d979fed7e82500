package spec

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/kronform/kronform-gen/templates"
)

// LoadPresets reads the embedded host policy presets and, when dir is set, the presets/*.yaml of that folder on top
// (a file of the same name replaces the embedded one). A preset is a host policy without a name: the file name names it.
func LoadPresets(dir string) (map[string]HostPolicy, error) {
	presets, _, err := loadPresets(dir)
	return presets, err
}

// presetSource is where a preset was read: a problem with the rules a policy got from it points there.
type presetSource struct {
	file string
	pos  map[string]Pos // as Model.Positions, with paths inside the preset (ingress[0].ports[1])
	keys map[string]Pos // as Model.keys
	// failed are the paths inside the preset whose values did not decode (reported then: what validation says about
	// them is noise), and fatal says the file could not be read at all: a policy of it is not checked further.
	failed map[string]bool
	fatal  bool
}

// loadPresets reads the presets; problems in them come back as Problems along with the presets, which are then read
// as far as they could be.
func loadPresets(dir string) (map[string]HostPolicy, map[string]presetSource, error) {
	presets, sources := map[string]HostPolicy{}, map[string]presetSource{}
	if err := readPresets(templates.FS, "embedded templates", presets, sources); err != nil {
		return nil, nil, err
	}
	if dir != "" {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("--templates: %w", err)
		}
		if !info.IsDir() {
			return nil, nil, fmt.Errorf("--templates %s: not a folder", dir)
		}
		if err := readPresets(os.DirFS(dir), dir, presets, sources); err != nil {
			return presets, sources, err
		}
	}
	return presets, sources, nil
}

func readPresets(fsys fs.FS, origin string, into map[string]HostPolicy, sources map[string]presetSource) error {
	names, err := fs.Glob(fsys, "presets/*.yaml")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var problems Problems
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		shown := name
		if origin != "embedded templates" {
			shown = path.Join(origin, name)
		}
		var p HostPolicy
		d := &decoder{file: shown, pos: map[string]Pos{}, keys: map[string]Pos{}}
		d.decodeYAML(data, reflect.ValueOf(&p).Elem())
		for _, field := range []string{"name", "preset"} {
			if pos, ok := d.pos[field]; ok {
				d.problems = append(d.problems, Problem{File: shown, Pos: pos, Path: field, Msg: "a preset has no name or preset field: its file name names it"})
			}
		}
		problems = append(problems, d.problems...)
		preset := strings.TrimSuffix(path.Base(name), ".yaml")
		into[preset] = p
		sources[preset] = presetSource{file: shown, pos: d.pos, keys: d.keys, failed: d.failed, fatal: d.fatal}
	}
	if len(problems) > 0 {
		return problems.Sorted()
	}
	return nil
}
