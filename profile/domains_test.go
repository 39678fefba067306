package profile

import (
	"strings"
	"testing"
)

func TestDomainPattern(t *testing.T) {
	tests := []struct {
		in   string
		want string // the normal form, or "!" followed by a message part
	}{
		{"example.com", "example.com"},
		{"API.Anthropic.com.", "api.anthropic.com"},
		{"*.example.com", "*.example.com"},
		{"*.a.b.example.com", "*.a.b.example.com"},
		{"*.githubusercontent.com", "*.githubusercontent.com"},
		{"*.github.io", "*.github.io"}, // a private suffix: one operator's names
		{"*.corp.internal", "*.corp.internal"},
		{"_acme.example.com", "_acme.example.com"},
		{"co.uk", "co.uk"}, // an exact name opens that name only
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"192.0.2.10", "192.0.2.10"},
		{"2001:DB8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"::ffff:192.0.2.10", "192.0.2.10"},
		{"169.254.169.254", "169.254.169.254"},

		{"", "!empty domain pattern"},
		{"not-a-domain", "!is a single label"},
		{"localhost", "localhost"},
		{"LocalHost.", "localhost"},
		{"*.localhost", "!covers a whole top-level domain"},
		{"127.0.0.1", "127.0.0.1"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"*.com", "!covers a whole top-level domain"},
		{"*.co.uk", "!public suffix \"co.uk\""},
		{"*.com.au", "!public suffix \"com.au\""},
		{"*", "!matches everything"},
		{"*.", "!matches everything"},
		{"a.*.com", "!a wildcard may only stand first"},
		{"*example.com", "!a wildcard may only stand first"},
		{"**.example.com", "!a wildcard may only stand first"},
		{"https://x.com", "!has a scheme"},
		{"x.com/a", "!has a path"},
		{"x.com:443", "!has a port (patterns take no port"},
		{"x.com:99999", "!99999 is not a port number"},
		{"x.com:", "!has the character ':'"},
		{"[2001:db8::1]:443", "!has a port"},
		{"a..com", "!has an empty label"},
		{".a.com", "!has an empty label"},
		{"a.com..", "!has an empty label"},
		{"-a.com", "!starts or ends with '-'"},
		{"a-.com", "!starts or ends with '-'"},
		{strings.Repeat("a", 64) + ".com", "!longer than 63"},
		{strings.Repeat("a.", 127) + "com", "!longer than 253"},
		{"a b.com", "!space or control character"},
		{"a\tb.com", "!space or control character"},
		{"a!.com", "!has the character '!'"},
		{"bücher.example", "!non-ASCII character 'ü'"},
		{"0.0.0.0", "!unspecified address"},
		{"fe80::1%eth0", "!has a zone"},
		{"1.2.3", "!its last label is a number"},
		{"256.1.1.1", "!its last label is a number"},
		{"01.2.3.4", "!its last label is a number"},
	}
	for _, tt := range tests {
		got, err := domainPattern(tt.in)
		if msg, bad := strings.CutPrefix(tt.want, "!"); bad {
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("domainPattern(%q) = %q, %v; want an error containing %q", tt.in, got, err, msg)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("domainPattern(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestMatchDomain(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "EXAMPLE.com.", true},
		{"example.com", "www.example.com", false},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "badexample.com", false},
		{"*.github.com", "github.com", false},
		{"192.0.2.10", "192.0.2.10", true},
		{"192.0.2.10", "192.0.2.11", false},
		{"2001:db8::1", "[2001:0db8:0::1]", true},
		{"2001:db8::1", "2001:db8::2", false},
		{"192.0.2.10", "::ffff:192.0.2.10", true},
		{"192.0.2.10", "a.192.0.2.10", false},
	}
	for _, tt := range tests {
		if got := MatchDomain(tt.pattern, tt.host); got != tt.want {
			t.Errorf("MatchDomain(%q, %q) = %v", tt.pattern, tt.host, got)
		}
	}
}

// TestAcceptedPatternsMatchThemselves: every accepted pattern, in its
// normal form, matches the name it spells (or, for a wildcard, a name
// below it) and not the parent of a wildcard.
func TestAcceptedPatternsMatchThemselves(t *testing.T) {
	for _, p := range []string{"Example.COM.", "*.Example.com", "192.0.2.10", "[2001:db8::1]"} {
		norm, err := domainPattern(p)
		if err != nil {
			t.Fatal(err)
		}
		if rest, wild := strings.CutPrefix(norm, "*."); wild {
			if !MatchDomain(norm, "x."+rest) || MatchDomain(norm, rest) {
				t.Errorf("%s: wildcard matching", p)
			}
			continue
		}
		if !MatchDomain(norm, strings.Trim(p, "[]")) {
			t.Errorf("%s does not match %s", norm, p)
		}
	}
}

func TestEgressProblemsAllAtOnce(t *testing.T) {
	src := `[egress]
allow = [
  "api.anthropic.com",
  "not-a-domain",
  "*.com", "https://x.com",
  "x.com:99999",
]
deny = ["*.co.uk"]
`
	want := []string{
		`p.toml:4: egress.allow: domain pattern "not-a-domain" is a single label`,
		`p.toml:5: egress.allow: domain pattern "*.com" covers a whole top-level domain`,
		`p.toml:5: egress.allow: domain pattern "https://x.com" has a scheme`,
		`p.toml:6: egress.allow: domain pattern "x.com:99999" has a port`,
		`p.toml:8: egress.deny: domain pattern "*.co.uk" covers every domain registered under the public suffix "co.uk"`,
	}
	wantProblems(t, src, want)
}
