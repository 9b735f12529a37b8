package assist

import (
	"strings"
	"testing"
)

func TestMaskRoundTrip(t *testing.T) {
	m := newMasker()
	in := `S3 access changed (call=PutBucketPolicy user=Admin6 identity=arn:aws:iam::997428336893:user/Admin6 ip=194.165.17.218)
role arn:aws:sts::111122223333:assumed-role/node-role/i-0031710b9f1eccd61 called from 2001:db8::7 and [fe80::1]:443
image 997428336893.dkr.ecr.us-east-1.amazonaws.com/orders-api:4.0.4 on ip-10-5-25-61.ec2.internal, 10.5.25.160:44767->169.254.169.254:80
{"user":"bob.smith","cmdline":"sudo -u bob.smith id"} and again Admin6, 194.165.17.218, 997428336893`
	out := m.mask(in)
	for _, orig := range []string{"Admin6", "997428336893", "111122223333", "194.165.17.218", "i-0031710b9f1eccd61", "2001:db8::7", "fe80::1",
		"10-5-25-61", "10.5.25.160", "169.254.169.254", "bob.smith"} {
		if strings.Contains(out, orig) {
			t.Errorf("masked text still holds %q:\n%s", orig, out)
		}
	}
	for _, want := range []string{"user=USER_1 identity=arn:aws:iam::ACCOUNT_1:user/USER_1 ip=IP_2", "ACCOUNT_1.dkr.ecr", "IP_1.ec2.internal",
		"assumed-role/node-role/USER_2", `"user":"USER_3"`, "-u USER_3 id", "again USER_1, IP_2, ACCOUNT_1", "[IP_"} {
		if !strings.Contains(out, want) {
			t.Errorf("masked text lacks %q:\n%s", want, out)
		}
	}
	// What is not personal stays: the rule's words, versions, ports.
	for _, keep := range []string{"S3 access changed", "orders-api:4.0.4", ":443", ":44767", "node-role", "sudo -u"} {
		if !strings.Contains(out, keep) {
			t.Errorf("masked text lost %q:\n%s", keep, out)
		}
	}
	if back := m.unmask(out); back != in {
		t.Errorf("unmask(mask(s)) != s:\n got %s\nwant %s", back, in)
	}
	// Stable: the same value gets the same placeholder in a later text.
	if got := m.mask("from 194.165.17.218 as Admin6"); got != "from IP_2 as USER_1" {
		t.Errorf("second text masked as %q", got)
	}
	// Unknown placeholders stay as written.
	if got := m.unmask("USER_1 and USER_99 and IP_10x"); got != "Admin6 and USER_99 and IP_10x" {
		t.Errorf("unmask = %q", got)
	}
}

func TestMaskLeavesOtherText(t *testing.T) {
	m := newMasker()
	m.learn("user=root user=Admin6 user=ab")
	cases := []string{
		"what was the root cause?",                   // root is a system account, and a word
		"2026-11-25T11:55:17Z and 11:55:17",          // times are not IPv6 addresses
		"993f49e5a9192f8fde0adcbfe0afb6bfb63adb7d2e", // a hex id is not an account id
		"version 1.2.3 and 4.0.4",                    // versions are not addresses
		"std::map and fmt::Println",                  // nor are C++ and Rust paths
		"Admin61 and SuperAdmin6",                    // only the whole name is masked
		"4.1.1.1.1 and 1.2.3.456",                    // not addresses
		"1234567890123 and 12345678901",              // not 12 digits
	}
	for _, s := range cases {
		if got := m.mask(s); got != s {
			t.Errorf("mask(%q) = %q", s, got)
		}
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::997428336893:user/Admin6 ip=194.165.17.218",
		"assumed-role/r/i-0031710b9f1eccd61 ::1 2001:db8::7 ip-10-5-25-61",
		"ip-1.2.3.4 user=bob \"user_name\":\"carol\" 123456789012.dkr",
		"::ffff:10.0.0.1 [fe80::1%eth0]:80 11:22:33:44:55:66",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if rePlaceholder.MatchString(s) {
			return // a placeholder already in the text comes back as its value
		}
		m := newMasker()
		out := m.mask(s)
		if back := m.unmask(out); back != s {
			t.Fatalf("unmask(mask(%q)) = %q (masked %q)", s, back, out)
		}
		if again := m.mask(s); again != out {
			t.Fatalf("mask is not stable: %q then %q", out, again)
		}
	})
}
