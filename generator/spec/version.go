package spec

import (
	"fmt"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// CiliumValueBreaks are the chart versions where a value kronform-gen writes changed its vocabulary: 1.14 turned
// kubeProxyReplacement from strict/disabled into true/false, 1.16 removed etcd.clusterDomain. A version range must stay
// on one side of each, or the values would be right for only part of it.
var CiliumValueBreaks = []*semver.Version{semver.MustParse("1.14.0"), semver.MustParse("1.16.0")}

// MinCiliumVersion is the oldest chart whose values kronform-gen knows.
var MinCiliumVersion = semver.MustParse("1.13.0")

// ResolveCiliumVersion returns the lowest chart version a version or range admits: the one whose values vocabulary
// is written. A range that admits nothing known, or spans a vocabulary break, is an error.
func ResolveCiliumVersion(v string) (*semver.Version, error) {
	// A range costs thousands of constraint checks and a fleet repeats a handful of versions: remember each answer.
	if r, ok := resolvedVersions.Load(v); ok {
		r := r.(resolvedVersion)
		return r.v, r.err
	}
	ver, err := resolveCiliumVersion(v)
	resolvedVersions.Store(v, resolvedVersion{ver, err})
	return ver, err
}

type resolvedVersion struct {
	v   *semver.Version
	err error
}

var resolvedVersions sync.Map

func resolveCiliumVersion(v string) (*semver.Version, error) {
	if exact, err := semver.StrictNewVersion(v); err == nil {
		if exact.LessThan(MinCiliumVersion) {
			return nil, fmt.Errorf("Cilium %s is older than %s, the oldest chart kronform-gen writes values for", v, MinCiliumVersion)
		}
		return exact, nil
	}
	c, err := semver.NewConstraint(v)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a version nor a semver range: %v", v, err)
	}
	// Cilium releases are 1.x.y; probing that grid finds the lowest admitted version and any break inside the range.
	var lowest, highest *semver.Version
	for minor := uint64(0); minor <= 60; minor++ {
		for patch := uint64(0); patch <= 60; patch++ {
			cand := semver.New(1, minor, patch, "", "")
			if !c.Check(cand) {
				continue
			}
			if lowest == nil {
				lowest = cand
			}
			highest = cand
		}
	}
	if lowest == nil {
		return nil, fmt.Errorf("range %q admits no Cilium 1.x release", v)
	}
	if lowest.LessThan(MinCiliumVersion) {
		return nil, fmt.Errorf("range %q admits %s, older than %s, the oldest chart kronform-gen writes values for", v, lowest, MinCiliumVersion)
	}
	for _, b := range CiliumValueBreaks {
		if lowest.LessThan(b) && !highest.LessThan(b) {
			return nil, fmt.Errorf("range %q spans %d.%d, where the chart's values changed; narrow it to one side (for example ~%d.%d.0)", v, b.Major(), b.Minor(), lowest.Major(), lowest.Minor())
		}
	}
	return lowest, nil
}
