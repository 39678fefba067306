package backends

import (
	"bytes"
	"io"
	"regexp"
	"sync"
)

// nspawnRemoveNoise is the line systemd-nspawn prints at the end of every
// ephemeral run on a host where systemd is not PID 1, when it declines to
// remove the ephemeral root itself (the launcher removes it).
// It is compiled on first use: most runs never start systemd-nspawn.
var nspawnRemoveNoise = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^Attempted to remove disk file system under ".*", and we can't allow that\.\r?\n$`)
})

// lineFilter copies its input to w, except whole lines that drop matches.
// A partial line that cannot become such a line is passed on at once, so
// prompts without a newline are not held back.
type lineFilter struct {
	w        io.Writer
	drop     *regexp.Regexp
	prefix   []byte // every dropped line starts with it
	buf      []byte
	midLine  bool // the last output ended inside a line
	writeErr error
}

func newLineFilter(w io.Writer, drop *regexp.Regexp, prefix string) *lineFilter {
	return &lineFilter{w: w, drop: drop, prefix: []byte(prefix)}
}

// Write filters p; it never fails, so the writer's process is not
// disturbed by a closed terminal.
func (f *lineFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for len(f.buf) > 0 {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			if f.midLine || !f.couldDrop(f.buf) {
				f.emit(f.buf)
				f.buf = f.buf[:0]
				f.midLine = true
			}
			break
		}
		line := f.buf[:i+1]
		if f.midLine || !f.drop.Match(line) {
			f.emit(line)
		}
		f.midLine = false
		f.buf = f.buf[i+1:]
	}
	f.buf = append([]byte(nil), f.buf...)
	return len(p), nil
}

// couldDrop reports whether the start of a line may still become a
// dropped line.
func (f *lineFilter) couldDrop(start []byte) bool {
	if len(start) < len(f.prefix) {
		return bytes.HasPrefix(f.prefix, start)
	}
	return bytes.HasPrefix(start, f.prefix)
}

func (f *lineFilter) emit(b []byte) {
	if f.writeErr == nil {
		_, f.writeErr = f.w.Write(b)
	}
}

// Flush passes on what remains of an unfinished line.
func (f *lineFilter) Flush() {
	if len(f.buf) > 0 {
		f.emit(f.buf)
		f.buf = nil
	}
}
