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

// CiliumBeyondChecked returns the first release a version or range admits whose minor is newer than
// NewestCiliumMinor, and whether there is one; false for a version that does not resolve (reported where it is
// validated).
func CiliumBeyondChecked(version string) (*semver.Version, bool) {
	if _, err := ResolveCiliumVersion(version); err != nil {
		return nil, false
	}
	next := semver.New(1, NewestCiliumMinor.Minor()+1, 0, "", "")
	if exact, err := semver.StrictNewVersion(version); err == nil {
		return exact, !exact.LessThan(next)
	}
	c, err := semver.NewConstraint(version)
	if err != nil {
		return nil, false
	}
	// The same grid ResolveCiliumVersion probes, from the first minor beyond the checked one.
	for minor := next.Minor(); minor <= 60; minor++ {
		for patch := uint64(0); patch <= 60; patch++ {
			if cand := semver.New(1, minor, patch, "", ""); c.Check(cand) {
				return cand, true
			}
		}
	}
	return nil, false
}

// ResolveCiliumVersion returns the lowest chart version a version or range admits: the one whose values vocabulary
// is written. A range that admits nothing known, or spans a vocabulary break, is an error.
func ResolveCiliumVersion(v string) (*semver.Version, error) {
	if r, ok := resolved.Load(v); ok {
		res := r.(resolution)
		return res.version, res.err
	}
	version, err := resolveCiliumVersion(v)
	resolved.Store(v, resolution{version, err})
	return version, err
}

// resolved remembers each version string's answer: a fleet names the same few versions many times, and probing a
// range costs a few thousand constraint checks.
var resolved sync.Map

type resolution struct {
	version *semver.Version
	err     error
}

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
