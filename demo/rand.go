package demo

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"
)

// gen is the one source of randomness of a scenario. Every value that
// varies between seeds is drawn from it, in a fixed order, so the same
// seed always yields the same bytes.
type gen struct {
	r *rand.Rand
	// canon is true for seed 1, which uses the names of the design
	// document: pick returns the first entry of every pool.
	canon bool
}

func newGen(seed int64) *gen {
	return &gen{
		r:     rand.New(rand.NewPCG(uint64(seed), 0x63616972_6e64656d)), // "cairndem"
		canon: seed == 1,
	}
}

// intn returns a number in [0, n).
func (g *gen) intn(n int) int { return g.r.IntN(n) }

// between returns a number in [lo, hi].
func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// dur returns a duration in [lo, hi] with nanosecond resolution.
func (g *gen) dur(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)+1))
}

// pick returns pool[0] for the canonical seed and any other entry
// otherwise, so that every seed but 1 differs from seed 1.
func pick[T any](g *gen, pool []T) T {
	if g.canon || len(pool) == 1 {
		return pool[0]
	}
	return pool[1+g.r.IntN(len(pool)-1)]
}

// any1 returns any entry of pool, for values that need not be canonical.
func any1[T any](g *gen, pool []T) T { return pool[g.r.IntN(len(pool))] }

const (
	hexDigits   = "0123456789abcdef"
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	mixedAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	k8sSuffix   = "bcdfghjklmnpqrstvwxz2456789" // the alphabet Kubernetes uses for generated names
	base58Chars = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
)

func (g *gen) from(alphabet string, n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

func (g *gen) hex(n int) string { return g.from(hexDigits, n) }

// uuid returns a random (version 4) UUID.
func (g *gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// s3RequestID returns an S3-style request id (16 upper-case characters).
func (g *gen) s3RequestID() string { return g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16) }

// s3HostID returns an x-amz-id-2 value.
func (g *gen) s3HostID() string {
	b := make([]byte, 56)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// token returns an opaque base64 token of n random bytes.
func (g *gen) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// podSuffix returns the random part of a generated pod name.
func (g *gen) podSuffix() string { return g.from(k8sSuffix, 5) }

// rsHash returns a ReplicaSet pod-template hash.
func (g *gen) rsHash() string { return g.from(k8sSuffix, g.between(9, 10)) }

// prefix is an IPv4 network from which addresses are drawn.
type prefix struct {
	base [4]byte
	bits int
}

func mustPrefix(s string) prefix {
	p := netip.MustParsePrefix(s)
	return prefix{base: p.Addr().As4(), bits: p.Bits()}
}

// ipIn returns a host address of p that is neither the network nor the
// broadcast address.
func (g *gen) ipIn(p prefix) string {
	v := uint32(p.base[0])<<24 | uint32(p.base[1])<<16 | uint32(p.base[2])<<8 | uint32(p.base[3])
	hostBits := 32 - p.bits
	size := uint32(1) << hostBits
	off := 1 + g.r.Uint32N(size-2)
	v = v&^(size-1) | off
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// Address ranges. The AWS ones are published EC2 ranges of each region
// (ip-ranges.json); the others belong to hosting providers outside AWS,
// where attackers rent machines.
var (
	awsRanges = map[string][]prefix{
		"us-east-1": {mustPrefix("3.208.0.0/12"), mustPrefix("54.80.0.0/13"), mustPrefix("34.192.0.0/12"), mustPrefix("52.0.0.0/15")},
		"us-west-2": {mustPrefix("34.208.0.0/12"), mustPrefix("52.32.0.0/14"), mustPrefix("54.184.0.0/13")},
		"eu-west-1": {mustPrefix("34.240.0.0/13"), mustPrefix("52.208.0.0/13"), mustPrefix("3.248.0.0/13")},
	}
	outsideRanges = []prefix{
		mustPrefix("45.155.204.0/22"), mustPrefix("91.219.236.0/22"), mustPrefix("185.220.100.0/22"),
		mustPrefix("193.42.32.0/22"), mustPrefix("194.165.16.0/22"), mustPrefix("5.188.206.0/23"),
		mustPrefix("80.94.92.0/22"), mustPrefix("95.214.24.0/22"),
	}
	// corporateRanges are blocks of ISPs where offices sit; they are the
	// blocks MaxMind's test databases locate, so a map shows them.
	corporateRanges = []prefix{
		mustPrefix("81.2.69.0/24"), mustPrefix("89.160.20.0/24"),
		mustPrefix("216.160.83.0/24"), mustPrefix("67.43.156.0/24"),
	}
)

func (g *gen) awsIP(region string) string { return g.ipIn(any1(g, awsRanges[region])) }

func (g *gen) outsideIP() string { return g.ipIn(any1(g, outsideRanges)) }

// ephemeralPort returns a Linux ephemeral source port.
func (g *gen) ephemeralPort() uint32 { return uint32(g.between(32768, 60999)) }

// accessKey returns an access key id with the given prefix (AKIA for
// long-term user keys, ASIA for temporary credentials).
func (g *gen) accessKey(prefix string) string {
	return prefix + g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
}

// uniqueID returns an IAM unique id (AIDA for users, AROA for roles).
func (g *gen) uniqueID(prefix string) string {
	return prefix + g.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)
}

// instanceID returns an EC2 instance id.
func (g *gen) instanceID() string { return "i-0" + g.hex(16) }
