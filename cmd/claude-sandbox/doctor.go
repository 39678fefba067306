package main

import (
	"fmt"

	"github.com/claude-sandbox/claude-sandbox/backends"
	"github.com/claude-sandbox/claude-sandbox/profile"
)

// doctorCmd reports whether a launch can run here.
type doctorCmd struct {
	Backend profile.Backend `help:"Judge a launch with this backend instead of the configured one." placeholder:"NAME"`
}

// Run prints the report; it exits 1 when the default launch (the current
// directory's configuration, or the built-in defaults when it is invalid)
// cannot run.
func (c doctorCmd) Run(s stdio) error {
	p, err := doctorPolicy(c.Backend)
	if err != nil {
		return err
	}
	if !backends.Doctor(s.out, p) {
		return &exitError{status: exitInvalid}
	}
	return nil
}

// doctorPolicy is the policy a plain launch in the current directory
// would use; when the configuration cannot be resolved, the report says
// so and judges the built-in defaults.
func doctorPolicy(backend profile.Backend) (*profile.Policy, error) {
	flags := profile.Flags{Force: true, Backend: backend}
	sess, err := resolveSession(".", flags)
	if err == nil {
		return sess.policy, nil
	}
	env, uerr := invokingUser()
	if uerr != nil {
		return nil, uerr
	}
	builtin, berr := profile.Builtin(env.Env)
	if berr != nil {
		return nil, fmt.Errorf("built-in defaults: %w", berr)
	}
	cwd, derr := projectDir(".")
	if derr != nil {
		return nil, derr
	}
	env.ProjectDir = cwd
	p, rerr := profile.Resolve(env.Env, []*profile.Layer{builtin}, flags)
	if rerr != nil {
		return nil, fmt.Errorf("configuration: %w (and the built-in defaults: %v)", err, rerr)
	}
	return p, nil
}
