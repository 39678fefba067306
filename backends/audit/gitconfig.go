package audit

import (
	"fmt"
	"strings"
)

// ConfigEntry is one key of a git configuration file.
type ConfigEntry struct {
	// Section is lower case; Subsection keeps its case; Key is lower case.
	Section, Subsection, Key string
	// Value is the unquoted value; a key without "=" is "true".
	Value string
	// Line is the line the key starts on.
	Line int
}

// Name is the entry's dotted name as git prints it: section.subsection.key.
func (e ConfigEntry) Name() string {
	if e.Subsection != "" {
		return e.Section + "." + e.Subsection + "." + e.Key
	}
	return e.Section + "." + e.Key
}

// ParseGitConfig reads a git configuration file: [section] and
// [section "subsection"] headers (and the old [section.subsection] form),
// "key = value" lines, keys without a value, comments after # and ;,
// double quotes, backslash escapes and lines continued with a final
// backslash. It is lenient: what it cannot read it skips, and it reports
// the first problem along with every entry it could read.
func ParseGitConfig(data []byte) ([]ConfigEntry, error) {
	p := &configParser{src: string(data), line: 1}
	return p.parse()
}

type configParser struct {
	src  string
	pos  int
	line int
	err  error
}

func (p *configParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("line %d: %s", p.line, fmt.Sprintf(format, args...))
	}
}

func (p *configParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *configParser) next() byte {
	c := p.peek()
	if p.pos < len(p.src) {
		p.pos++
		if c == '\n' {
			p.line++
		}
	}
	return c
}

func (p *configParser) skipLine() {
	for p.pos < len(p.src) && p.next() != '\n' {
	}
}

func (p *configParser) skipBlanks() {
	for c := p.peek(); c == ' ' || c == '\t' || c == '\r'; c = p.peek() {
		p.next()
	}
}

func (p *configParser) parse() ([]ConfigEntry, error) {
	var out []ConfigEntry
	section, sub := "", ""
	for p.pos < len(p.src) {
		p.skipBlanks()
		switch c := p.peek(); {
		case c == 0:
			return out, p.err
		case c == '\n':
			p.next()
		case c == '#' || c == ';':
			p.skipLine()
		case c == '[':
			p.next()
			section, sub = p.header()
		case isKeyChar(c):
			line := p.line
			key := p.key()
			value := p.value()
			if section == "" {
				p.fail("key %q outside a section", key)
				continue
			}
			out = append(out, ConfigEntry{Section: section, Subsection: sub, Key: key, Value: value, Line: line})
		default:
			p.fail("unexpected %q", c)
			p.skipLine()
		}
	}
	return out, p.err
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// header reads a section header after "[".
func (p *configParser) header() (section, sub string) {
	var name strings.Builder
	for {
		c := p.peek()
		switch {
		case c == ']':
			p.next()
			s := strings.ToLower(name.String())
			// The old form [section.subsection].
			if i := strings.IndexByte(s, '.'); i >= 0 {
				return s[:i], name.String()[i+1:]
			}
			return s, ""
		case c == ' ' || c == '\t':
			p.skipBlanks()
			if p.peek() != '"' {
				p.fail("bad section header")
				p.skipLine()
				return strings.ToLower(name.String()), ""
			}
			p.next()
			var b strings.Builder
			for {
				c := p.next()
				switch c {
				case 0, '\n':
					p.fail("unterminated subsection")
					return strings.ToLower(name.String()), b.String()
				case '\\':
					b.WriteByte(p.next())
				case '"':
					if p.next() != ']' {
						p.fail("bad section header")
						p.skipLine()
					}
					return strings.ToLower(name.String()), b.String()
				default:
					b.WriteByte(c)
				}
			}
		case isKeyChar(c) || c == '.':
			name.WriteByte(p.next())
		default:
			p.fail("bad section header")
			p.skipLine()
			return strings.ToLower(name.String()), ""
		}
	}
}

// key reads a key name.
func (p *configParser) key() string {
	start := p.pos
	for isKeyChar(p.peek()) {
		p.next()
	}
	return strings.ToLower(p.src[start:p.pos])
}

// value reads what follows a key: "= value" up to the end of the line
// (continued lines included), or nothing (true).
func (p *configParser) value() string {
	p.skipBlanks()
	switch p.peek() {
	case 0, '\n', '#', ';':
		p.skipLine()
		return "true"
	case '=':
		p.next()
	default:
		p.fail("expected = after a key")
		p.skipLine()
		return ""
	}
	p.skipBlanks()
	var b strings.Builder
	quoted := false
	keep := 0 // the length without trailing unquoted blanks
	for {
		c := p.next()
		switch {
		case c == 0 || c == '\n':
			if quoted {
				p.fail("unterminated quote")
			}
			return b.String()[:keep]
		case c == '\r' && (p.peek() == '\n' || p.peek() == 0):
		case !quoted && (c == '#' || c == ';'):
			p.skipLine()
			return b.String()[:keep]
		case c == '"':
			quoted = !quoted
		case c == '\\':
			switch e := p.next(); e {
			case '\n':
				// A continued line.
			case '\r':
				if p.peek() == '\n' {
					p.next()
				}
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'b':
				if s := b.String(); s != "" {
					b.Reset()
					b.WriteString(s[:len(s)-1])
				}
			case '"', '\\':
				b.WriteByte(e)
			default:
				p.fail("bad escape \\%c", e)
			}
			keep = b.Len()
		case !quoted && (c == ' ' || c == '\t'):
			b.WriteByte(c)
		default:
			b.WriteByte(c)
			keep = b.Len()
		}
	}
}
