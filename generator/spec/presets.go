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
	presets := map[string]HostPolicy{}
	if err := readPresets(templates.FS, "embedded templates", presets); err != nil {
		return nil, err
	}
	if dir != "" {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("--templates: %w", err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("--templates %s: not a folder", dir)
		}
		if err := readPresets(os.DirFS(dir), dir, presets); err != nil {
			return nil, err
		}
	}
	return presets, nil
}

func readPresets(fsys fs.FS, origin string, into map[string]HostPolicy) error {
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
		d := &decoder{file: shown, pos: map[string]Pos{}}
		d.decodeYAML(data, reflect.ValueOf(&p).Elem())
		if p.Name != "" || p.Preset != "" {
			d.problems = append(d.problems, Problem{File: shown, Pos: Pos{1, 1}, Msg: "a preset has no name or preset field: its file name names it"})
		}
		problems = append(problems, d.problems...)
		into[strings.TrimSuffix(path.Base(name), ".yaml")] = p
	}
	if len(problems) > 0 {
		return problems.Sorted()
	}
	return nil
}
