package render

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// xauthRecord encodes one Xauthority record.
func xauthRecord(family uint16, address, number, name, data string) []byte {
	b := binary.BigEndian.AppendUint16(nil, family)
	for _, f := range []string{address, number, name, data} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

// testXauth is a host's Xauthority file: a local cookie for display 0 on
// host, one for display 1, one for display 0 of another host, a TCP one
// and a wild one for display 0.
func testXauth(host string) []byte {
	var b []byte
	b = append(b, xauthRecord(xauthFamilyLocal, host, "0", "MIT-MAGIC-COOKIE-1", "cookie-local-0")...)
	b = append(b, xauthRecord(xauthFamilyLocal, host, "1", "MIT-MAGIC-COOKIE-1", "cookie-local-1")...)
	b = append(b, xauthRecord(xauthFamilyLocal, "otherhost", "0", "MIT-MAGIC-COOKIE-1", "cookie-other-0")...)
	b = append(b, xauthRecord(0, "\x7f\x00\x00\x01", "0", "MIT-MAGIC-COOKIE-1", "cookie-tcp-0")...)
	b = append(b, xauthRecord(xauthFamilyWild, "", "0", "MIT-MAGIC-COOKIE-1", "cookie-wild-0")...)
	return b
}

func TestSandboxXauth(t *testing.T) {
	got := SandboxXauth(testXauth("box"), "0", "box")
	first := xauthRecord(xauthFamilyWild, "", "0", "MIT-MAGIC-COOKIE-1", "cookie-local-0")
	want := append(append([]byte{}, first...), xauthRecord(xauthFamilyWild, "", "0", "MIT-MAGIC-COOKIE-1", "cookie-wild-0")...)
	if !bytes.Equal(got, want) {
		t.Errorf("sandbox Xauthority:\n got %q\nwant %q", got, want)
	}
	if got := SandboxXauth(testXauth("box"), "7", "box"); got != nil {
		t.Errorf("display 7 has no cookie, got %q", got)
	}
	// A truncated file yields its complete records only.
	full := testXauth("box")
	if got := SandboxXauth(full[:len(full)-3], "0", "box"); !bytes.Equal(got, first) {
		t.Errorf("truncated file: got %q", got)
	}
}

func FuzzParseXauth(f *testing.F) {
	f.Add(testXauth("box"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, e := range parseXauth(b) {
			if len(e.number) > len(b) {
				t.Fatal("record larger than its input")
			}
		}
	})
}
