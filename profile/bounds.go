package profile

// A layer file may arrive with a cloned repository, so its size and
// nesting are bounded before it is decoded: the TOML decoder's cost grows
// with the square of a key's depth (each level builds the full key path),
// so a few kilobytes of nested inline tables or dotted keys would take
// minutes and gigabytes. Real profiles are a few kilobytes deep at most
// five levels (profiles.NAME.mounts."/path".mode).

const (
	// MaxFileSize is the largest layer file accepted, in bytes: more than
	// ten times the fully commented example profile.
	MaxFileSize = 64 << 10
	// MaxDepth is the deepest key accepted: the number of key parts from
	// the top of the document to a value, counting table headers, dotted
	// keys, inline tables and arrays.
	MaxDepth = 8
)

// checkBounds refuses a file larger than MaxFileSize or nested deeper than
// MaxDepth. It reads the bytes once, without decoding them, and reports the
// first line where the depth is exceeded. Malformed TOML is left to the
// decoder: the scan only needs to find strings, comments, keys and
// brackets.
func checkBounds(name string, data []byte, ps *problems) bool {
	if len(data) > MaxFileSize {
		ps.add(name, 1, "", "a profile is a few kilobytes; split it or remove what is not needed",
			"file is %d bytes, more than the %d a layer file may hold", len(data), MaxFileSize)
		return false
	}
	if line, depth := nestingDepth(data, MaxDepth); depth > MaxDepth {
		ps.add(name, line, "", "",
			"keys nested more than %d levels deep (tables, dotted keys, inline tables and arrays together)", MaxDepth)
		return false
	}
	return true
}

// frame is one open inline table or array.
type frame struct {
	table bool // an inline table ({), else an array ([)
	level int  // the depth of the table or array itself
}

// nestingDepth scans TOML source and returns the depth of its deepest key
// or value, and the line where it is reached, stopping at the first line
// deeper than limit.
func nestingDepth(src []byte, limit int) (line, depth int) {
	var (
		stack    []frame
		header   int  // key parts of the current [table] header
		inKey    bool // reading a key (parts are counted at dots)
		inHeader bool // reading a [table] or [[array]] header
		keyBase  int  // the depth the current key starts from
		parts    int  // parts of the current key so far
		value    int  // depth of the value being read
		lineNo   = 1
		maxLine  = 1
		maxDepth = 0
	)
	note := func(d int) bool {
		if d > maxDepth {
			maxDepth, maxLine = d, lineNo
		}
		return d > limit
	}
	startKey := func(base int) {
		inKey, keyBase, parts = true, base, 1
	}
	startKey(0)
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '\n':
			lineNo++
			if len(stack) == 0 {
				startKey(header)
				inHeader = false
			}
		case '#':
			for i+1 < len(src) && src[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			i, lineNo = skipString(src, i, lineNo)
		case '.':
			if inKey {
				parts++
				if note(keyBase + parts) {
					return maxLine, maxDepth
				}
			}
		case '=':
			if inKey && !inHeader {
				inKey = false
				value = keyBase + parts
				if note(value) {
					return maxLine, maxDepth
				}
			}
		case '[':
			if inKey && len(stack) == 0 && !inHeader {
				// A [table] or [[array of tables]] header.
				inHeader = true
				keyBase, parts = 0, 1
				if i+1 < len(src) && src[i+1] == '[' {
					i++
					keyBase = 1
				}
				continue
			}
			if inKey {
				continue // malformed: left to the decoder
			}
			stack = append(stack, frame{level: value})
			value++ // the elements
			if note(value) {
				return maxLine, maxDepth
			}
		case '{':
			if inKey {
				continue // malformed: left to the decoder
			}
			stack = append(stack, frame{table: true, level: value})
			startKey(value)
		case ']':
			if inHeader && inKey {
				inKey = false
				header = keyBase + parts
				if note(header) {
					return maxLine, maxDepth
				}
				continue
			}
			fallthrough
		case '}':
			if len(stack) == 0 {
				continue // malformed or the second ] of a header
			}
			stack = stack[:len(stack)-1]
			inKey = false
			if n := len(stack); n > 0 && !stack[n-1].table {
				value = stack[n-1].level + 1
			}
		case ',':
			if n := len(stack); n > 0 {
				if top := stack[n-1]; top.table {
					startKey(top.level)
				} else {
					value = top.level + 1
				}
			}
		}
	}
	return maxLine, maxDepth
}

// skipString skips the string starting at src[i] (a quote) and returns the
// index of its last byte and the line number after it. An unterminated
// string ends at the end of its line (or of the file, for a multi-line
// string); the decoder reports it.
func skipString(src []byte, i, line int) (int, int) {
	q := src[i]
	if i+2 < len(src) && src[i+1] == q && src[i+2] == q {
		// A multi-line string: up to two further quotes belong to it.
		for j := i + 3; j < len(src); j++ {
			switch src[j] {
			case '\n':
				line++
			case '\\':
				if q == '"' && j+1 < len(src) {
					j++
					if src[j] == '\n' {
						line++
					}
				}
			case q:
				if j+2 < len(src) && src[j+1] == q && src[j+2] == q {
					j += 2
					for k := 0; k < 2 && j+1 < len(src) && src[j+1] == q; k++ {
						j++
					}
					return j, line
				}
			}
		}
		return len(src) - 1, line
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\n':
			return j - 1, line
		case '\\':
			if q == '"' && j+1 < len(src) && src[j+1] != '\n' {
				j++
			}
		case q:
			return j, line
		}
	}
	return len(src) - 1, line
}
