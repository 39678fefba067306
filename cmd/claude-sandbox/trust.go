package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// trustCmd records the project file's exact bytes as trusted.
type trustCmd struct {
	Yes     bool   `short:"y" help:"Trust without asking (needed when standard input is not a terminal)."`
	Revoke  bool   `help:"Forget the trust given to the project file."`
	Project string `arg:"" optional:"" default:"." help:"Project directory (default: the current directory)."`
}

// Run shows what the file widens, asks, and records it.
func (c *trustCmd) Run(s stdio) error {
	if c.Revoke {
		return c.revoke(s)
	}
	sess, err := resolveSession(c.Project, profile.Flags{})
	if err != nil {
		return err
	}
	if sess.project == nil {
		return fmt.Errorf("%s has no %s to trust", sess.policy.ProjectDir, profile.ProjectFile)
	}
	store := newTrustStore(sess.env)
	file := sess.project.Path
	if ok, err := store.trusted(file, sess.project.Data); err != nil {
		return err
	} else if ok {
		fmt.Fprintf(s.out, "%s is already trusted as it is\n", file)
		return nil
	}
	fmt.Fprintf(s.out, "%s (sha256 %s)\n", file, digest(sess.project.Data))
	if len(sess.widenings) == 0 {
		fmt.Fprintln(s.out, "it only narrows the policy of the layers below it")
	} else {
		fmt.Fprintln(s.out, "compared with the layers below it, it:")
		for _, w := range sess.widenings {
			fmt.Fprintf(s.out, "  %s\n", w)
		}
	}
	if added := c.sinceTrusted(sess, store); added != nil {
		if len(added) == 0 {
			fmt.Fprintln(s.out, "since it was last trusted, the edit opens nothing new")
		} else {
			fmt.Fprintln(s.out, "since it was last trusted, the edit adds:")
			for _, w := range added {
				fmt.Fprintf(s.out, "  %s\n", w)
			}
		}
	}
	if !c.Yes {
		f, ok := s.in.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return errors.New("standard input is not a terminal: review the above and run trust again with --yes")
		}
		fmt.Fprint(s.out, "trust this file? [y/N] ")
		answer, _ := bufio.NewReader(s.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("not trusted")
		}
	}
	if err := store.record(file, sess.project.Data); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "trusted %s\n", file)
	return nil
}

// sinceTrusted returns what the current file opens beyond the previously
// trusted version, or nil when there is none (or it no longer decodes).
func (c *trustCmd) sinceTrusted(sess *session, store trustStore) []profile.Widening {
	old := store.previous(sess.project.Path)
	if old == nil {
		return nil
	}
	layer, err := profile.Decode(profile.LayerProject, sess.project.Path, old, sess.env.Env)
	if err != nil {
		return nil
	}
	layers := append(append([]*profile.Layer(nil), sess.layers[:len(sess.layers)-1]...), layer)
	prev, err := profile.Resolve(sess.env.Env, layers, profile.Flags{Force: true})
	if err != nil {
		return nil
	}
	cur, err := profile.Resolve(sess.env.Env, sess.layers, profile.Flags{Force: true})
	if err != nil {
		return nil
	}
	w := profile.Widenings(prev, cur)
	if w == nil {
		w = []profile.Widening{}
	}
	return w
}

// revoke forgets the trust record of the project file, valid or not.
func (c *trustCmd) revoke(s stdio) error {
	env, err := invokingUser()
	if err != nil {
		return err
	}
	dir, err := projectDir(c.Project)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, profile.ProjectFile)
	removed, err := newTrustStore(env).revoke(file)
	if err != nil {
		return err
	}
	if removed {
		fmt.Fprintf(s.out, "no longer trusted: %s\n", file)
	} else {
		fmt.Fprintf(s.out, "%s was not trusted\n", file)
	}
	return nil
}
