package main

import "fmt"

// versionCmd prints the version.
type versionCmd struct{}

// Run prints the version.
func (versionCmd) Run(s stdio) error {
	fmt.Fprintf(s.out, "claude-sandbox %s\n", version)
	return nil
}
