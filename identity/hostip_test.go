package identity

import (
	"net/netip"
	"strconv"
	"strings"
)

// HostIP reads back the address a host name of the form Build matches
// encodes, for the tests that check the links against the demo's truth.
// It is the private IPv4 address an EC2 host name encodes
// (ip-10-5-3-31, ip-10-5-3-31.ec2.internal,
// ip-10-5-3-31.eu-west-1.compute.internal give 10.5.3.31), or "".
func HostIP(host string) string {
	label, _, _ := strings.Cut(strings.ToLower(host), ".")
	rest, ok := strings.CutPrefix(label, "ip-")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 4 {
		return ""
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return ""
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 {
			return ""
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b).String()
}
