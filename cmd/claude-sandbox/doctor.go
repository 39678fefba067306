package main

import "github.com/claude-sandbox/claude-sandbox/backends"

// doctorCmd reports which backends can run here.
type doctorCmd struct{}

// Run prints the report; it exits 1 when no backend can run.
func (doctorCmd) Run(s stdio) error {
	if !backends.Doctor(s.out) {
		return &exitError{status: exitInvalid}
	}
	return nil
}
