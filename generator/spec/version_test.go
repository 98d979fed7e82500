package spec

import "testing"

// The values are written for the lowest release a range admits, which a range of pre-releases only has too (it was
// refused as admitting nothing); a pre-release just below a range's first release does not move the lowest across a
// values break. A range reaching past the newest minor checked counts as that minor (which later releases exist is
// unknown), or as its lowest when that is later.
func TestCiliumRangesNamingPreReleases(t *testing.T) {
	for v, want := range map[string][2]string{ // lowest, installed minor
		">=1.20.0 <=1.20.9 || 1.21.0-rc.1": {"1.20.0", "1.20.0"},
		">=1.21.0-rc.1 <1.21.0":            {"1.21.0-rc.1", "1.21.0"},
		"^1.16.0-0":                        {"1.16.0", "1.20.0"},
		"~1.17.0":                          {"1.17.0", "1.17.0"},
	} {
		lowest, err := ResolveCiliumVersion(v)
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		installed, err := CiliumInstalledMinor(v)
		if err != nil || lowest.String() != want[0] || installed.String() != want[1] {
			t.Errorf("%s: lowest %s, installed minor %s (%v), want %s and %s", v, lowest, installed, err, want[0], want[1])
		}
	}
}
