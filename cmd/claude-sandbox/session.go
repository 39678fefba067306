package main

import (
	"fmt"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// Trust states of the project file, as explain reports them.
const (
	trustNone      = "none"      // no project file
	trustNarrowing = "narrowing" // the file only narrows: applies without trust
	trustTrusted   = "trusted"   // the file widens and its exact bytes are trusted
	trustUntrusted = "untrusted" // the file widens and is not trusted: refused
)

// session is the resolved policy of one invocation and its trust state.
type session struct {
	*loaded
	policy     *profile.Policy
	widenings  []profile.Widening
	trustState string
}

// resolveSession loads the layers for the project and resolves them with
// the flags. It does not refuse an untrusted project file; callers decide.
func resolveSession(projectArg string, flags profile.Flags) (*session, error) {
	env, err := invokingUser()
	if err != nil {
		return nil, err
	}
	return resolveSessionEnv(env, projectArg, flags)
}

// resolveSessionEnv is resolveSession for the user described by env.
func resolveSessionEnv(env userEnv, projectArg string, flags profile.Flags) (*session, error) {
	dir, err := projectDir(projectArg)
	if err != nil {
		return nil, err
	}
	env.ProjectDir = dir
	l, err := loadLayers(env)
	if err != nil {
		return nil, err
	}
	p, widenings, err := profile.Assess(env.Env, l.layers, flags)
	if err != nil {
		return nil, err
	}
	s := &session{loaded: l, policy: p, widenings: widenings, trustState: trustNone}
	if l.project != nil {
		s.trustState = trustNarrowing
		if len(widenings) > 0 {
			ok, err := newTrustStore(env).trusted(l.project.Path, l.project.Data)
			if err != nil {
				return nil, err
			}
			s.trustState = trustUntrusted
			if ok {
				s.trustState = trustTrusted
			}
		}
	}
	return s, nil
}

// untrustedError explains why an untrusted project file is refused.
func (s *session) untrustedError() error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s widens the policy and is not trusted:", s.project.Path)
	for _, w := range s.widenings {
		fmt.Fprintf(&b, "\n  %s", w)
	}
	fmt.Fprintf(&b, "\nreview it, then run: claude-sandbox trust %s", shellWord(s.policy.ProjectDir))
	return fmt.Errorf("%s", b.String())
}
