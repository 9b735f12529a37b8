package analytics

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
)

// IPRanges are AWS's published address ranges (ip-ranges.json), which the
// operator provides; cairn downloads nothing.
type IPRanges struct {
	prefixes []netip.Prefix
}

// ParseIPRanges reads ip-ranges.json: prefixes[].ip_prefix and
// ipv6_prefixes[].ipv6_prefix.
func ParseIPRanges(r io.Reader) (*IPRanges, error) {
	var doc struct {
		Prefixes []struct {
			IPPrefix string `json:"ip_prefix"`
		} `json:"prefixes"`
		IPv6Prefixes []struct {
			IPv6Prefix string `json:"ipv6_prefix"`
		} `json:"ipv6_prefixes"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("ip ranges: %v", err)
	}
	rs := &IPRanges{}
	add := func(s string) error {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("ip ranges: %q: %v", s, err)
		}
		rs.prefixes = append(rs.prefixes, p.Masked())
		return nil
	}
	for _, p := range doc.Prefixes {
		if err := add(p.IPPrefix); err != nil {
			return nil, err
		}
	}
	for _, p := range doc.IPv6Prefixes {
		if err := add(p.IPv6Prefix); err != nil {
			return nil, err
		}
	}
	if len(rs.prefixes) == 0 {
		return nil, fmt.Errorf("ip ranges: no prefixes")
	}
	return rs, nil
}

// Contains reports whether addr is in one of the ranges.
func (rs *IPRanges) Contains(addr netip.Addr) bool {
	for _, p := range rs.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
