package profile

import (
	"strconv"
	"strings"
)

// keyIndex maps dotted key paths of one TOML document to the 1-based line
// where each key is written. BurntSushi/toml keeps key positions private,
// so the loader scans the source itself; it runs only on documents the
// library has already parsed, so it may assume valid TOML and stays small.
type keyIndex map[string]int

// joinKey joins key parts into the dotted form used for lookups. Parts are
// joined verbatim, so a mount path such as "/data" gives "mounts./data".
func joinKey(parts []string) string { return strings.Join(parts, ".") }

// line returns the line of the key path, or of its nearest enclosing key
// when the path itself was not written (an implicit table), or 0.
func (ix keyIndex) line(parts ...string) int {
	for n := len(parts); n > 0; n-- {
		if l, ok := ix[joinKey(parts[:n])]; ok {
			return l
		}
	}
	return 0
}

// elemKey is the index key of element i of the array at parts.
func elemKey(parts []string, i int) string {
	return joinKey(parts) + "\x00" + strconv.Itoa(i)
}

// elemLine returns the line of element i of the array at parts, or the
// line of the array's key when the element was not placed.
func (ix keyIndex) elemLine(parts []string, i int) int {
	if l, ok := ix[elemKey(parts, i)]; ok {
		return l
	}
	return ix.line(parts...)
}

// indexKeys scans src and records the line of every key and table header.
func indexKeys(src string) keyIndex {
	s := &keyScanner{src: src, line: 1, ix: keyIndex{}}
	s.document()
	return s.ix
}

type keyScanner struct {
	src  string
	pos  int
	line int
	ix   keyIndex
}

func (s *keyScanner) eof() bool { return s.pos >= len(s.src) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *keyScanner) advance() {
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

// skipSpace skips blanks on the current line.
func (s *keyScanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t') {
		s.pos++
	}
}

// skipTrivia skips blanks, newlines and comments.
func (s *keyScanner) skipTrivia() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.advance()
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (s *keyScanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.pos++
	}
	if !s.eof() {
		s.advance()
	}
}

func (s *keyScanner) record(parts []string, line int) {
	k := joinKey(parts)
	if _, seen := s.ix[k]; !seen {
		s.ix[k] = line
	}
}

func (s *keyScanner) document() {
	var table []string
	for {
		s.skipTrivia()
		if s.eof() {
			return
		}
		if s.peek() == '[' {
			s.pos++
			array := s.peek() == '['
			if array {
				s.pos++
			}
			line := s.line
			parts := s.key()
			table = parts
			for i := 1; i <= len(parts); i++ {
				s.record(parts[:i], line)
			}
			s.skipLine()
			continue
		}
		line := s.line
		parts := s.key()
		full := append(append([]string(nil), table...), parts...)
		for i := len(table) + 1; i <= len(full); i++ {
			s.record(full[:i], line)
		}
		s.skipSpace()
		if s.peek() == '=' {
			s.pos++
		}
		s.value(full)
	}
}

// key reads a possibly dotted key and returns its parts.
func (s *keyScanner) key() []string {
	var parts []string
	for !s.eof() {
		s.skipSpace()
		switch s.peek() {
		case '"':
			parts = append(parts, s.basicString())
		case '\'':
			parts = append(parts, s.literalString())
		default:
			start := s.pos
			for !s.eof() && isBareKeyByte(s.peek()) {
				s.pos++
			}
			if s.pos == start {
				return parts
			}
			parts = append(parts, s.src[start:s.pos])
		}
		s.skipSpace()
		if s.peek() != '.' {
			return parts
		}
		s.pos++
	}
	return parts
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// basicString reads a "..." string (the opening quote at pos) and returns
// its content with the common escapes resolved.
func (s *keyScanner) basicString() string {
	s.pos++
	var b strings.Builder
	for !s.eof() {
		c := s.peek()
		switch c {
		case '"':
			s.pos++
			return b.String()
		case '\\':
			s.pos++
			if s.eof() {
				return b.String()
			}
			e := s.peek()
			s.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'e':
				b.WriteByte(0x1b)
			case 'u', 'U':
				b.WriteString(s.unicodeEscape(e))
			default:
				b.WriteByte(e)
			}
		case '\n':
			return b.String()
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return b.String()
}

func (s *keyScanner) unicodeEscape(kind byte) string {
	n := 4
	if kind == 'U' {
		n = 8
	}
	var r rune
	for i := 0; i < n && !s.eof(); i++ {
		c := s.peek()
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return string(r)
		}
		r = r<<4 | rune(d)
		s.pos++
	}
	return string(r)
}

func (s *keyScanner) literalString() string {
	s.pos++
	start := s.pos
	for !s.eof() && s.peek() != '\'' && s.peek() != '\n' {
		s.pos++
	}
	v := s.src[start:s.pos]
	if !s.eof() && s.peek() == '\'' {
		s.pos++
	}
	return v
}

// value skips one value; inline tables record their keys under prefix.
func (s *keyScanner) value(prefix []string) {
	s.skipSpace()
	switch {
	case strings.HasPrefix(s.src[s.pos:], `"""`):
		s.multiline(`"""`, true)
	case strings.HasPrefix(s.src[s.pos:], `'''`):
		s.multiline(`'''`, false)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[':
		s.pos++
		for i := 0; ; {
			s.skipTrivia()
			if s.eof() {
				return
			}
			if s.peek() == ']' {
				s.pos++
				return
			}
			if s.peek() == ',' {
				s.pos++
				continue
			}
			if prefix != nil {
				if k := elemKey(prefix, i); s.ix[k] == 0 {
					s.ix[k] = s.line
				}
			}
			i++
			before := s.pos
			s.value(nil)
			if s.pos == before {
				s.pos++
			}
		}
	case s.peek() == '{':
		s.pos++
		for {
			s.skipTrivia()
			if s.eof() {
				return
			}
			if s.peek() == '}' {
				s.pos++
				return
			}
			if s.peek() == ',' {
				s.pos++
				continue
			}
			line := s.line
			before := s.pos
			parts := s.key()
			if prefix != nil {
				full := append(append([]string(nil), prefix...), parts...)
				for i := len(prefix) + 1; i <= len(full); i++ {
					s.record(full[:i], line)
				}
				parts = full
			} else {
				parts = nil
			}
			s.skipSpace()
			if s.peek() == '=' {
				s.pos++
			}
			s.value(parts)
			if s.pos == before {
				s.pos++
			}
		}
	default:
		for !s.eof() {
			switch s.peek() {
			case ',', ']', '}', '\n', '#':
				return
			}
			s.pos++
		}
	}
}

// multiline skips a multi-line string delimited by delim.
func (s *keyScanner) multiline(delim string, escapes bool) {
	s.pos += len(delim)
	for !s.eof() {
		if escapes && s.peek() == '\\' {
			s.pos++
			if !s.eof() {
				s.advance()
			}
			continue
		}
		if strings.HasPrefix(s.src[s.pos:], delim) {
			s.pos += len(delim)
			// Up to two further quotes belong to the content.
			for i := 0; i < 2 && !s.eof() && s.peek() == delim[0]; i++ {
				s.pos++
			}
			return
		}
		s.advance()
	}
}
