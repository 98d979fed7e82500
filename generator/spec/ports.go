package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// Protocols a port may name, as written in the spec.
var Protocols = []string{"tcp", "udp", "sctp", "any"}

// PortRange is a parsed PORT/PROTO or LOW-HIGH/PROTO. High equals Low for a single port.
type PortRange struct {
	Low, High int
	Protocol  string // tcp, udp, sctp or any
}

func (p PortRange) String() string {
	if p.High != p.Low {
		return fmt.Sprintf("%d-%d/%s", p.Low, p.High, p.Protocol)
	}
	return fmt.Sprintf("%d/%s", p.Low, p.Protocol)
}

// Contains says whether port/proto falls in the range; the protocol any matches every protocol.
func (p PortRange) Contains(port int, proto string) bool {
	return port >= p.Low && port <= p.High && (p.Protocol == "any" || proto == "any" || p.Protocol == proto)
}

// ParsePort parses PORT/PROTO or LOW-HIGH/PROTO.
func ParsePort(s string) (PortRange, error) {
	ports, proto, ok := strings.Cut(s, "/")
	if !ok {
		return PortRange{}, fmt.Errorf("%q has no protocol; write %s/tcp or %s/udp", s, s, s)
	}
	proto = strings.ToLower(proto)
	valid := false
	for _, p := range Protocols {
		valid = valid || p == proto
	}
	if !valid {
		return PortRange{}, fmt.Errorf("%q: unknown protocol %q (tcp, udp, sctp or any)", s, proto)
	}
	lowS, highS, isRange := strings.Cut(ports, "-")
	low, err := parsePortNumber(lowS)
	if err != nil {
		return PortRange{}, fmt.Errorf("%q: %w", s, err)
	}
	high := low
	if isRange {
		if high, err = parsePortNumber(highS); err != nil {
			return PortRange{}, fmt.Errorf("%q: %w", s, err)
		}
		if high < low {
			return PortRange{}, fmt.Errorf("%q: range %d-%d ends below its start", s, low, high)
		}
	}
	return PortRange{Low: low, High: high, Protocol: proto}, nil
}

func parsePortNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is out of range 1-65535", n)
	}
	return n, nil
}
