package profile

import (
	"fmt"
	"strconv"
	"strings"
)

// Value checks shared by the decoder. Each accepts exactly the forms the
// renderers can pass on without quoting or option injection (a QEMU
// machine type never contains a comma, for example).

func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

func validProfileName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' && s[i] != '_' {
			return false
		}
	}
	return true
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validToken accepts letters, digits, '.', '_' and '-' up to max bytes.
func validToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("._-", rune(s[i])) {
			return false
		}
	}
	return true
}

func validMachinePrefix(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parseMemory reads a memory size: a string with a unit ("4G", "4096M",
// "512MiB", "1T") or an integer number of MiB. It returns MiB.
func parseMemory(v any) (int, error) {
	var mib int64
	switch x := v.(type) {
	case int64:
		mib = x
	case string:
		n, err := sizeInMiB(x, 1<<40)
		switch err {
		case errNotSize:
			return 0, fmt.Errorf("memory %q is not a size such as \"4G\" or \"4096M\"", x)
		case errSizeUnit:
			return 0, fmt.Errorf("memory %q has an unknown unit (use M or G)", x)
		case errSizeLarge:
			return 0, fmt.Errorf("memory %q is out of range (256M-1T)", x)
		}
		mib = n
	default:
		return 0, fmt.Errorf("want a size such as \"4G\", got %s", describe(v))
	}
	if mib < 256 || mib > 1024*1024 {
		return 0, fmt.Errorf("memory %v is out of range (256M-1T)", v)
	}
	return int(mib), nil
}

// FormatMemory prints MiB the way the schema writes it ("4G", "1536M").
func FormatMemory(mib int) string {
	if mib%1024 == 0 {
		return strconv.Itoa(mib/1024) + "G"
	}
	return strconv.Itoa(mib) + "M"
}

// validBusName reports whether s is a well-known D-Bus name (two or more
// dot-separated elements of letters, digits, '_' and '-', not starting
// with a digit, at most 255 characters), optionally followed by ".*".
func validBusName(s string) bool {
	s = strings.TrimSuffix(s, ".*")
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, part := range parts {
		if part == "" || (part[0] >= '0' && part[0] <= '9') {
			return false
		}
		for _, r := range part {
			if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}
