package backends

import (
	"bytes"
	"testing"
)

// TestNspawnNoiseFilter drops exactly nspawn's ephemeral-removal line and
// passes everything else on, partial lines at once.
func TestNspawnNoiseFilter(t *testing.T) {
	var out bytes.Buffer
	f := newLineFilter(&out, nspawnRemoveNoise(), "Attempted to remove disk file system")
	in := []string{
		"error: something\n",
		"Password: ",
		"x\n",
		"Attempted to remove disk file system under \"/tmp/claude-sandbox-0-1/root\", and we can't allow that.\n",
		"Attempted to remove disk file system under \"/x\", and we can allow that.\n",
		"Attempted to remove disk file system under \"/tmp/r\", and we can't allow that. (not quite)\n",
		"Attempt",
	}
	for _, s := range in {
		f.Write([]byte(s))
	}
	if got := out.String(); got != "error: something\nPassword: x\n"+in[4]+in[5] {
		t.Errorf("before the end:\n%q", got)
	}
	// A line written in pieces is still recognised.
	out.Reset()
	f = newLineFilter(&out, nspawnRemoveNoise(), "Attempted to remove disk file system")
	for _, s := range []string{"Attempted to remove ", "disk file system under \"/r\", and we can", "'t allow that.\n", "after\n", "tail"} {
		f.Write([]byte(s))
	}
	f.Flush()
	if got := out.String(); got != "after\ntail" {
		t.Errorf("pieces: %q", got)
	}
}
