package spec

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

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

// A range admitting a pre-release of a break's release besides releases before the break spans it: Flux installs the
// pre-release (the newest release admitted), the later minor's chart, which the values of the lowest do not fit.
func TestCiliumRangesReachingAPreReleaseOfABreak(t *testing.T) {
	for _, v := range []string{"~1.15.0 || 1.16.0-rc.1", ">=1.15.0 <=1.16.0-rc.1", "~1.13.0 || 1.14.0-pre.3"} {
		if lowest, err := ResolveCiliumVersion(v); err == nil || !strings.Contains(err.Error(), "where the chart's values changed") {
			installed, _ := CiliumInstalledMinor(v)
			t.Errorf("%s: lowest %s (values of its minor), installed minor %s, error %v; want it refused as spanning a break", v, lowest, installed, err)
		}
	}
	// Pre-releases of one minor alone stay on one side.
	for _, v := range []string{">=1.16.0-rc.1 <1.16.0", "^1.16.0-0", "~1.15.0 || 1.15.7-rc.1"} {
		if _, err := ResolveCiliumVersion(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
}

// CiliumAdmitted lists what a version or range admits among the releases it can name, ascending and once each, for
// checks that judge a range by every release Flux may install.
func TestCiliumAdmitted(t *testing.T) {
	names := func(v string) string {
		var out []string
		for _, r := range CiliumAdmitted(v) {
			out = append(out, r.String())
		}
		return strings.Join(out, " ")
	}
	for v, want := range map[string]string{
		"1.15.6":                    "1.15.6",
		"1.16.0-rc.1":               "1.16.0-rc.1",
		">=1.16.3 <=1.16.5":         "1.16.3 1.16.4 1.16.5",
		"1.14.7 - 1.14.8 || 1.15.1": "1.14.7 1.14.8 1.15.1",
		">=1.21.0-rc.1 <1.21.0":     "1.21.0-rc.1",
		"1.20.x || 2.3.4 - 2.3.9":   "",
		"not a version":             "",
	} {
		got := names(v)
		if v == "1.20.x || 2.3.4 - 2.3.9" {
			// the whole 1.20 minor on the grid, then nothing of 2.x (a later major is not 1.x)
			if !strings.HasPrefix(got, "1.20.0 1.20.1 ") || !strings.HasSuffix(got, " 1.20.60") || strings.Contains(got, "2.3") {
				t.Errorf("%s: %s", v, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: admits %q, want %q", v, got, want)
		}
	}
}

// The probe asks a range about each stretch of releases between the versions it names once: on ranges built from
// every operator and version form, it admits exactly the releases the constraint itself admits.
func TestReleaseProbeAgreesWithTheConstraint(t *testing.T) {
	ops := []string{"", "=", "!=", ">", ">=", "<", "<=", "~", "^"}
	versions := []string{"1", "1.16", "1.16.x", "1.16.3", "1.16.3-rc.1", "1.x", "*", "0.9", "2", "1.20.60", "0.0.3", "1.0", "x", "1.*", "v1.16.3", "1.16.3+meta", "1.16.X"}
	var grid []*semver.Version
	for _, major := range []uint64{0, 1, 2} {
		for minor := uint64(0); minor <= 22; minor++ {
			for patch := uint64(0); patch <= 8; patch++ {
				grid = append(grid, semver.New(major, minor, patch, "", ""))
			}
		}
		grid = append(grid, semver.New(major, 60, 60, "", ""))
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	atom := func() string { return ops[rnd.IntN(len(ops))] + versions[rnd.IntN(len(versions))] }
	ranges := []string{"1.16.3 - 1.20", "1.14 - 1.16.3", "~1.16.0", "^0.2.3", "^0.0.3", ">1.2", ">1", "<=1.4", "!=1.16.x"}
	for range 300 {
		switch rnd.IntN(4) {
		case 0:
			ranges = append(ranges, atom())
		case 1:
			ranges = append(ranges, atom()+" "+atom())
		case 2:
			ranges = append(ranges, atom()+", "+atom()+" || "+atom())
		default:
			ranges = append(ranges, versions[rnd.IntN(len(versions))]+" - "+versions[rnd.IntN(len(versions))])
		}
	}
	checked := 0
	for _, r := range ranges {
		c, err := semver.NewConstraint(r)
		if err != nil {
			continue
		}
		checked++
		probe := newReleaseProbe(c, namedVersions(r))
		for _, v := range grid {
			if got, want := probe.admits(v.Major(), v.Minor(), v.Patch()), c.Check(v); got != want {
				t.Errorf("%q admits %s: probe says %v, the constraint %v", r, v, got, want)
				break
			}
		}
	}
	if checked < 250 {
		t.Errorf("only %d of %d ranges parsed", checked, len(ranges))
	}
}
