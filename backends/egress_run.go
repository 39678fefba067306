package backends

import (
	"errors"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// startEgress starts the host-side proxy of the allowlist network mode and
// returns the function that stops it.
func startEgress(p *profile.Policy, h *render.Host) (func(), error) {
	return nil, errors.New("the allowlist network mode is not available in this build")
}
