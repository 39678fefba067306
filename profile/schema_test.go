package profile

import (
	"os"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const exampleFile = "../claude-sandbox.example.toml"

func TestExampleIsValid(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(exampleFile, data); err != nil {
		t.Fatalf("the example file does not pass check:\n%v", err)
	}
}

// TestSchemaKeysInExample proves the example documents every key.
func TestSchemaKeysInExample(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	md, err := toml.Decode(string(data), &v)
	if err != nil {
		t.Fatal(err)
	}
	var written [][]string
	for _, k := range md.Keys() {
		written = append(written, k)
	}
	for _, key := range SchemaKeys() {
		pat := strings.Split(key, ".")
		found := false
		for _, k := range written {
			if matchPattern(pat, k) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s does not document the key %s", exampleFile, key)
		}
	}
	for _, k := range written {
		if !MatchSchemaKey(k) {
			t.Errorf("the example writes %q, which is not a schema key", strings.Join(k, "."))
		}
	}
}

func matchPattern(pat, key []string) bool {
	if len(pat) != len(key) {
		return false
	}
	for i := range pat {
		if !strings.HasPrefix(pat[i], "<") && pat[i] != key[i] {
			return false
		}
	}
	return true
}

func TestSchemaKeysStable(t *testing.T) {
	keys := SchemaKeys()
	for _, want := range []string{"network", "egress.allow", "forward.gh_token", "mounts.<path>.optional", "vm.memory", "container.machine_prefix", "profiles.<name>", "env.set.<name>", "protect.<path>"} {
		found := false
		for _, k := range keys {
			found = found || k == want
		}
		if !found {
			t.Errorf("SchemaKeys lacks %s", want)
		}
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("SchemaKeys not sorted at %s", keys[i])
		}
	}
}

func TestForwardSwitchesMatchStruct(t *testing.T) {
	var f Forward
	for _, s := range forwardSwitches {
		*s.Field(&f) = true
	}
	all := Forward{true, true, true, true, true, true, true, true, true, true, true, true, true}
	if f != all {
		t.Errorf("forward switches miss a field of Forward: %+v", f)
	}
}
