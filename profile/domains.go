package profile

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Egress domain patterns. A pattern is one of:
//
//   - an exact host name, "example.com": that name only, not its
//     subdomains; it needs at least two labels;
//   - a subdomain wildcard, "*.example.com": every name below
//     example.com at any depth, not example.com itself; the part after
//     "*." needs at least two labels and may not be a public suffix on
//     its own ("*.com", "*.co.uk" are refused);
//   - an IP address, "192.0.2.10" or "2001:db8::1": connections to that
//     address written as such, not names that resolve to it.
//
// The one single-label name accepted is "localhost". Patterns carry no
// scheme, path or port: an allowed name is reachable on every port, and an
// exact name or address admits private and loopback addresses, so
// "localhost" or "127.0.0.1" opens every port of the host's loopback
// (egress.localhost_ports opens single ports). Names are matched
// case-insensitively and a final dot is ignored. MatchDomain is the matcher the egress proxy uses,
// so what check accepts is exactly what the proxy enforces.

// maxDomainLength is the longest DNS name, without the final dot.
const maxDomainLength = 253

// domainPattern checks an egress pattern and returns its normal form:
// lower case, without a final dot, addresses in their canonical form.
func domainPattern(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty domain pattern")
	}
	if i := strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r >= 0x7f }); i >= 0 {
		if r := []rune(p[i:])[0]; r > 0x7f {
			return "", fmt.Errorf("domain pattern %q has the non-ASCII character %q (write an internationalised name in its xn-- form)", p, r)
		}
		return "", fmt.Errorf("domain pattern %q contains a space or control character", p)
	}
	switch {
	case strings.Contains(p, "://"):
		return "", fmt.Errorf("domain pattern %q has a scheme (write the host name only)", p)
	case strings.Contains(p, "/"):
		return "", fmt.Errorf("domain pattern %q has a path (write the host name only)", p)
	case p == "*" || p == "*.":
		return "", fmt.Errorf("domain pattern %q matches everything (use network = \"full\" instead)", p)
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(p, "["), "]")); err == nil {
		return addressPattern(p, a)
	}
	if i := strings.LastIndex(p, ":"); i >= 0 {
		port := p[i+1:]
		if n, ok := parsePort(port); ok && n >= 1 && n <= 65535 {
			return "", fmt.Errorf("domain pattern %q has a port (patterns take no port: an allowed name is reachable on every port)", p)
		}
		if _, ok := parsePort(port); ok {
			return "", fmt.Errorf("domain pattern %q has a port, and %s is not a port number (1-65535); patterns take no port", p, port)
		}
		return "", fmt.Errorf("domain pattern %q has the character ':' (write the host name only)", p)
	}
	name := strings.ToLower(strings.TrimSuffix(p, "."))
	host, wild := strings.CutPrefix(name, "*.")
	if strings.Contains(host, "*") {
		return "", fmt.Errorf("domain pattern %q: a wildcard may only stand first, as in \"*.example.com\"", p)
	}
	if len(host) > maxDomainLength {
		return "", fmt.Errorf("domain pattern %q is longer than %d characters", p, maxDomainLength)
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if err := checkLabel(p, l); err != nil {
			return "", err
		}
	}
	if isNumeric(labels[len(labels)-1]) {
		return "", fmt.Errorf("domain pattern %q is neither a host name (its last label is a number) nor an IP address", p)
	}
	switch {
	case host == "localhost" && !wild:
		// The one single label accepted: the host's loopback by name.
	case len(labels) < 2 && wild:
		return "", fmt.Errorf("domain pattern %q covers a whole top-level domain (write at least two labels after \"*.\", as in \"*.example.com\")", p)
	case len(labels) < 2:
		return "", fmt.Errorf("domain pattern %q is a single label, not a full domain name (write it in full, as in \"%s.example.com\")", p, host)
	}
	if wild {
		if suffix, icann := publicsuffix.PublicSuffix(host); icann && suffix == host {
			return "", fmt.Errorf("domain pattern %q covers every domain registered under the public suffix %q (name the domain, as in \"*.example.%s\")", p, host, host)
		}
	}
	return name, nil
}

// addressPattern checks an IP address pattern.
func addressPattern(p string, a netip.Addr) (string, error) {
	a = a.Unmap()
	switch {
	case a.Zone() != "":
		return "", fmt.Errorf("domain pattern %q has a zone (write the address only)", p)
	case a.IsUnspecified():
		return "", fmt.Errorf("domain pattern %q is the unspecified address", p)
	}
	return a.String(), nil
}

// checkLabel checks one label of a domain pattern: letters, digits, '-'
// and '_', neither starting nor ending with '-', 1 to 63 characters.
func checkLabel(p, l string) error {
	switch {
	case l == "":
		return fmt.Errorf("domain pattern %q has an empty label (two dots in a row, or a dot first)", p)
	case len(l) > 63:
		return fmt.Errorf("domain pattern %q has a label longer than 63 characters", p)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("domain pattern %q has a label that starts or ends with '-'", p)
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isAlnum(c) && c != '-' && c != '_' {
			return fmt.Errorf("domain pattern %q has the character %q (letters, digits, '-' and '.' only)", p, c)
		}
	}
	return nil
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parsePort reads a decimal port of up to 9 digits.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 9 || !isNumeric(s) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// MatchDomain reports whether host, as a client names it (a host name or
// an IP address, possibly in brackets), matches the egress pattern
// pattern as domainPattern accepts it.
func MatchDomain(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if pa, err := netip.ParseAddr(strings.Trim(pattern, "[]")); err == nil {
		ha, err := netip.ParseAddr(strings.Trim(host, "[]"))
		return err == nil && ha.Unmap() == pa.Unmap()
	}
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return pattern == host
}

// DomainPattern checks an egress domain pattern as egress.allow and
// egress.deny are checked and returns its normal form.
func DomainPattern(p string) (string, error) { return domainPattern(p) }
