package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// Only a Robot template's own files (the form and the JSON) move with it. A file the admin keeps beside them in the
// old folder, still there and unchanged, is no difference: it was listed as added ("upload to Robot") once the
// template in its folder had moved away.
func TestHetznerChangesKeepOtherFilesWhereTheyAre(t *testing.T) {
	form := []byte("name=alpha-fw&\nrules[input][0][action]=accept\n")
	json := []byte(`{"firewall_template": {"name": "alpha-fw"}}` + "\n")
	notes := []byte("applied to a1 and a2 by hand\n")
	dir := t.TempDir()
	for p, b := range map[string][]byte{
		"hetzner/gamma/firewall-template.form": form, "hetzner/gamma/firewall-template.json": json, "hetzner/alpha/NOTES.md": notes,
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := map[string][]byte{
		"hetzner/alpha/firewall-template.form": form, "hetzner/alpha/firewall-template.json": json, "hetzner/alpha/NOTES.md": notes,
	}
	same := func(was, is string) bool { return was == "alpha" && is == "gamma" } // gamma is alpha renamed
	changes, moves, err := (&app{outDir: dir}).hetznerChanges(ref, "HEAD", same)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 || len(moves) != 1 || moves[0] != (hetznerMove{From: "hetzner/alpha", To: "hetzner/gamma", Template: "alpha-fw"}) {
		t.Errorf("want the template moved unchanged and nothing else, got changes %+v, moves %+v", changes, moves)
	}
}
