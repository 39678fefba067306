package render

import (
	"encoding/binary"
)

// X authority files.
//
// An Xauthority file is a list of records: a big-endian 16-bit address
// family, then four length-prefixed strings (address, display number,
// authorization name, authorization data). Display managers usually write
// "local" entries bound to the host's name, which clients inside a
// sandbox, whose host name differs, never match. The sandbox therefore
// gets its own file holding only the cookies of the forwarded display,
// rewritten as "wild" entries that match any host name.

// Xauthority address families.
const (
	xauthFamilyLocal = 256
	xauthFamilyWild  = 65535
)

// xauthEntry is one record of an Xauthority file.
type xauthEntry struct {
	family                      uint16
	address, number, name, data []byte
}

// parseXauth decodes an Xauthority file; a truncated record ends it.
func parseXauth(b []byte) []xauthEntry {
	var out []xauthEntry
	field := func() ([]byte, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, false
		}
		f := b[2 : 2+n]
		b = b[2+n:]
		return f, true
	}
	for len(b) >= 2 {
		e := xauthEntry{family: binary.BigEndian.Uint16(b)}
		b = b[2:]
		var ok [4]bool
		e.address, ok[0] = field()
		e.number, ok[1] = field()
		e.name, ok[2] = field()
		e.data, ok[3] = field()
		if !(ok[0] && ok[1] && ok[2] && ok[3]) {
			break
		}
		out = append(out, e)
	}
	return out
}

// SandboxXauth returns the Xauthority content for a sandbox using local
// display number display on host h, from the host's file content: the
// entries for that display that are wild or local to this host, each
// made wild. It returns nil when there is none.
func SandboxXauth(content []byte, display, hostname string) []byte {
	var out []byte
	put := func(f []byte) {
		out = binary.BigEndian.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	for _, e := range parseXauth(content) {
		if string(e.number) != display {
			continue
		}
		if e.family != xauthFamilyWild && !(e.family == xauthFamilyLocal && string(e.address) == hostname) {
			continue
		}
		out = binary.BigEndian.AppendUint16(out, xauthFamilyWild)
		put(nil)
		put(e.number)
		put(e.name)
		put(e.data)
	}
	return out
}
