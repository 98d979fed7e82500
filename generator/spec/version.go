package spec

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// CiliumValueBreaks are the chart versions where a value kronform-gen writes changed its vocabulary: 1.14 turned
// kubeProxyReplacement from strict/disabled into true/false, 1.16 removed etcd.clusterDomain. A version range must stay
// on one side of each, or the values would be right for only part of it.
var CiliumValueBreaks = []*semver.Version{semver.MustParse("1.14.0"), semver.MustParse("1.16.0")}

// CiliumPortRangesSince is the first chart whose CiliumClusterwideNetworkPolicy CRD has toPorts[].ports[].endPort.
// Before it the API server prunes the field (the CRDs of 1.13.4, 1.14.0, 1.15.6 and 1.15.19 have no endPort and do not
// preserve unknown fields; 1.16.0 has it), so a range would silently shrink to its first port. It is also a break in
// CiliumValueBreaks, so a version range is wholly on one side.
var CiliumPortRangesSince = semver.MustParse("1.16.0")

// CiliumPortRanges says whether the chart a version or range resolves to accepts port ranges in policies; false
// when the version does not resolve (reported where the version is validated).
func CiliumPortRanges(version string) bool {
	v, err := ResolveCiliumVersion(version)
	return err == nil && !v.LessThan(CiliumPortRangesSince)
}

// MaxExpandedPorts bounds how many single ports one policy rule may come to when a chart without port ranges makes
// kronform-gen write each port of a range on its own. 1024 holds the well-known ports (a deny of 1-1024) and the
// ranges Talos and Cilium use; it is 26 Cilium rules of 40 ports per peer kind, and the agent keeps one policy map
// entry per port and peer identity (16384 per endpoint by default), so much wider ranges cannot work well anyway.
const MaxExpandedPorts = 1024

// MinCiliumVersion is the oldest chart whose values kronform-gen knows.
var MinCiliumVersion = semver.MustParse("1.13.0")

// NewestCiliumMinor is the newest minor release whose chart values, CRDs and host datapath kronform-gen was checked
// against (the chart and sources of 1.20.2): a later minor may rename a value or change what the host firewall does.
var NewestCiliumMinor = semver.MustParse("1.20.0")

// CiliumBeyondChecked returns the first release a version or range admits that is newer than NewestCiliumMinor's
// minor (a later major included), and whether there is one; false for a version that does not resolve (reported where it is
// validated).
func CiliumBeyondChecked(version string) (*semver.Version, bool) {
	res := resolve(version)
	return res.beyond, res.err == nil && res.beyond != nil
}

// ResolveCiliumVersion returns the lowest chart version a version or range admits: the one whose values vocabulary
// is written. A range that admits nothing known, or spans a vocabulary break, is an error.
func ResolveCiliumVersion(v string) (*semver.Version, error) {
	res := resolve(v)
	return res.version, res.err
}

// CiliumInstalledMinor is the minor release Flux installs for a version or range: source-controller picks the newest
// release a range admits. Which releases come after NewestCiliumMinor is unknown, so a range that reaches beyond it
// counts as NewestCiliumMinor (or as its lowest release, when that is later); an exact version is itself.
func CiliumInstalledMinor(v string) (*semver.Version, error) {
	res := resolve(v)
	if res.err != nil {
		return nil, res.err
	}
	minor := func(v *semver.Version) *semver.Version { return semver.New(v.Major(), v.Minor(), 0, "", "") }
	switch {
	case res.beyond != nil && res.beyond.Major() > res.highest.Major():
		return minor(res.beyond), nil // a later major: no minor of 1.x
	case !beyondChecked(res.highest.Major(), res.highest.Minor()):
		return minor(res.highest), nil
	case beyondChecked(res.version.Major(), res.version.Minor()):
		return minor(res.version), nil
	}
	return NewestCiliumMinor, nil
}

// CiliumAdmitted returns the 1.x releases a version or range admits that kronform-gen can name: an exact version
// itself; for a range, those on the grid it is probed on (minors and patches 0-60) and those it names (see
// namedVersions), ascending; nil when the version does not resolve. The slice is shared: callers only read it.
func CiliumAdmitted(v string) []*semver.Version {
	res := resolve(v)
	if res.err != nil {
		return nil
	}
	return res.admitted
}

// resolve is resolveCiliumVersion, remembered. Callers on every core ask for the same few versions at once, so each
// is probed by the first and waited for by the rest.
func resolve(v string) resolution {
	e, _ := resolved.LoadOrStore(v, &resolving{})
	r := e.(*resolving)
	r.once.Do(func() {
		r.res.version, r.res.highest, r.res.beyond, r.res.admitted, r.res.err = resolveCiliumVersion(v)
	})
	return r.res
}

// resolved remembers each version string's answer (a *resolving): a fleet names the same few versions many times,
// and probing a range costs a few thousand constraint checks.
var resolved sync.Map

type resolving struct {
	once sync.Once
	res  resolution
}

type resolution struct {
	version, beyond *semver.Version // beyond: see CiliumBeyondChecked
	highest         *semver.Version // the newest 1.x release admitted
	admitted        []*semver.Version
	err             error
}

// beyondChecked says whether a release is newer than the minor NewestCiliumMinor names: a later minor of 1.x, or a
// later major.
func beyondChecked(major, minor uint64) bool {
	return major > NewestCiliumMinor.Major() || (major == NewestCiliumMinor.Major() && minor > NewestCiliumMinor.Minor())
}

// resolveCiliumVersion is ResolveCiliumVersion, with the newest 1.x release admitted, the first admitted release
// beyond NewestCiliumMinor (nil: none) and what CiliumAdmitted returns.
func resolveCiliumVersion(v string) (lowest, highest, beyond *semver.Version, admitted []*semver.Version, err error) {
	if exact, err := semver.StrictNewVersion(v); err == nil {
		if exact.LessThan(MinCiliumVersion) {
			return nil, nil, nil, nil, fmt.Errorf("Cilium %s is older than %s, the oldest chart kronform-gen writes values for", v, MinCiliumVersion)
		}
		if beyondChecked(exact.Major(), exact.Minor()) {
			beyond = exact
		}
		return exact, exact, beyond, []*semver.Version{exact}, nil
	}
	c, err := semver.NewConstraint(v)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("%q is neither a version nor a semver range: %v", v, err)
	}
	// Cilium releases are 1.x.y; probing that grid finds the lowest admitted version and any break inside the range.
	named := namedVersions(v)
	probe := newReleaseProbe(c, named)
	for minor := uint64(0); minor <= 60; minor++ {
		for patch := uint64(0); patch <= 60; patch++ {
			if !probe.admits(1, minor, patch) {
				continue
			}
			cand := semver.New(1, minor, patch, "", "")
			if lowest == nil {
				lowest = cand
			}
			if beyond == nil && beyondChecked(1, minor) {
				beyond = cand
			}
			highest = cand
			admitted = append(admitted, cand)
		}
	}
	// The grid holds no pre-release, and of a later major only the first and last patch of each minor (at a tenth
	// of the whole grid's cost). What a range admits besides is found through the versions it names: every bound of a
	// range is one of them or the release after one, so a range admitting only releases inside a minor's middle
	// patches ("1.20.x || 2.3.4 - 2.3.9") or only pre-releases (">=1.21.0-rc.1 <1.21.0") admits one of these.
	// The lowest is the grid's when it has one: a pre-release just below it (">=1.16.0-0") would put the range on
	// the wrong side of a values break.
	gridLowest := lowest
	for _, cand := range named {
		if cand.Major() != 1 || !c.Check(cand) {
			continue
		}
		admitted = append(admitted, cand)
		if gridLowest == nil && (lowest == nil || cand.LessThan(lowest)) {
			lowest = cand
		}
		if highest == nil || highest.LessThan(cand) {
			highest = cand
		}
	}
	if lowest == nil {
		return nil, nil, nil, nil, fmt.Errorf("range %q admits no Cilium 1.x release", v)
	}
	// A range may admit a later major too ("1.20.x || 2.x"), and Flux installs the newest release it admits.
	for major := uint64(2); beyond == nil && major <= 9; major++ {
		for minor := uint64(0); beyond == nil && minor <= 60; minor++ {
			for _, patch := range []uint64{0, 60} {
				if probe.admits(major, minor, patch) {
					beyond = semver.New(major, minor, patch, "", "")
					break
				}
			}
		}
	}
	for _, cand := range named {
		if beyondChecked(cand.Major(), cand.Minor()) && c.Check(cand) && (beyond == nil || cand.LessThan(beyond)) {
			beyond = cand
		}
	}
	if lowest.LessThan(MinCiliumVersion) {
		return nil, nil, nil, nil, fmt.Errorf("range %q admits %s, older than %s, the oldest chart kronform-gen writes values for", v, lowest, MinCiliumVersion)
	}
	// A pre-release of a break's release is on its far side, as CiliumInstalledMinor counts it: "~1.15.0 ||
	// 1.16.0-rc.1" installs 1.16.0-rc.1, the 1.16 chart, and would get the values of 1.15.
	release := func(v *semver.Version) *semver.Version { return semver.New(v.Major(), v.Minor(), v.Patch(), "", "") }
	for _, b := range CiliumValueBreaks {
		if release(lowest).LessThan(b) && !release(highest).LessThan(b) {
			return nil, nil, nil, nil, fmt.Errorf("range %q spans %d.%d, where the chart's values changed; narrow it to one side (for example ~%d.%d.0)", v, b.Major(), b.Minor(), lowest.Major(), lowest.Minor())
		}
	}
	slices.SortFunc(admitted, func(a, b *semver.Version) int { return a.Compare(b) })
	admitted = slices.CompactFunc(admitted, func(a, b *semver.Version) bool { return a.Equal(b) })
	return lowest, highest, beyond, admitted, nil
}

// releaseProbe says whether a range admits a release, asking the constraint once per stretch of releases between
// two versions the range names. Every comparison a range is made of (=, !=, <, <=, >, >=, ~, ^, x-ranges, hyphen
// ranges) is bounded by a version it names or by the patch, minor or major release after one (namedVersions), so the
// releases strictly between two consecutive such bounds are all admitted, or all not. The grid is thousands of
// releases, and the constraint builds an error message for each comparison that fails.
type releaseProbe struct {
	c       *semver.Constraints
	bounds  []*semver.Version // ascending, distinct
	between map[int]bool      // what the stretch below bounds[i] gets (i == len(bounds): above the last)
}

func newReleaseProbe(c *semver.Constraints, named []*semver.Version) *releaseProbe {
	// A wildcard alone (*, x) names no digits: it stands for 0.0.0 (">*" admits all but 0.0.0).
	zero := semver.New(0, 0, 0, "", "")
	next, minor, major := zero.IncPatch(), zero.IncMinor(), zero.IncMajor()
	bounds := append(slices.Clone(named), zero, &next, &minor, &major)
	slices.SortFunc(bounds, func(a, b *semver.Version) int { return a.Compare(b) })
	bounds = slices.CompactFunc(bounds, func(a, b *semver.Version) bool { return a.Equal(b) })
	return &releaseProbe{c: c, bounds: bounds, between: map[int]bool{}}
}

// admits says whether the constraint admits the release major.minor.patch. A Version is made only to ask the
// constraint (semver.New formats its text, which is most of the cost of a grid).
func (p *releaseProbe) admits(major, minor, patch uint64) bool {
	i, bound := slices.BinarySearchFunc(p.bounds, [3]uint64{major, minor, patch}, compareRelease)
	if !bound {
		if ok, asked := p.between[i]; asked {
			return ok
		}
	}
	ok := p.c.Check(semver.New(major, minor, patch, "", ""))
	if !bound {
		p.between[i] = ok
	}
	return ok
}

// compareRelease orders a version against a release: a pre-release of the same numbers comes before it.
func compareRelease(b *semver.Version, r [3]uint64) int {
	if c := cmp.Compare(b.Major(), r[0]); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Minor(), r[1]); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Patch(), r[2]); c != 0 {
		return c
	}
	if b.Prerelease() != "" {
		return -1
	}
	return 0
}

// namedVersion matches what a semver range writes as a version: 1, 1.2, 1.2.x, v1.2.3, 1.2.3-rc.1.
var namedVersion = regexp.MustCompile(`v?[0-9]+(\.([0-9]+|[xX*]))?(\.([0-9]+|[xX*]))?(-[0-9A-Za-z.-]+)?`)

// namedVersions are the versions a range names (a wildcard as 0), each with the patch, minor and major release after
// it: a range's bounds are among them.
func namedVersions(r string) []*semver.Version {
	var out []*semver.Version
	for _, m := range namedVersion.FindAllString(r, -1) {
		n, err := semver.NewVersion(strings.NewReplacer("x", "0", "X", "0", "*", "0").Replace(m))
		if err != nil {
			continue
		}
		next, minor, major := n.IncPatch(), n.IncMinor(), n.IncMajor()
		out = append(out, n, &next, &minor, &major)
	}
	return out
}
