package audit

import (
	"os"
	"strings"
	"testing"
)

// TestREADMETable keeps the README's table of audited kinds the one the
// code uses.
func TestREADMETable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), DocTable()) {
		t.Errorf("README.md lacks the current table of audited kinds; put this in its audit section:\n%s", DocTable())
	}
}
