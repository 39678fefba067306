package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// checkCmd validates profile files.
type checkCmd struct {
	NoWiden bool     `name:"no-widen" help:"Also fail when a project file widens the policy of the layers below it (trusted or not)."`
	Files   []string `arg:"" optional:"" help:"Files to check (default: every layer that applies to the current directory). A file that is not a configured layer is checked as a project file." type:"path"`
}

// Run checks the files and exits 1 when any is invalid.
func (c *checkCmd) Run(s stdio) error {
	if len(c.Files) == 0 {
		return c.checkLayers(s)
	}
	env, err := invokingUser()
	if err != nil {
		return err
	}
	var errs []error
	var wide []profile.Widening
	for _, name := range c.Files {
		data, err := readLayerFile(name)
		if err != nil {
			errs = append(errs, &profile.Problem{File: name, Message: "cannot read the file: " + err.Error()})
			continue
		}
		fe := env
		fe.ProjectDir = filepath.Dir(name)
		layer, err := profile.Decode(layerKindOf(env, name), name, data, fe.Env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if filepath.Base(name) != profile.ProjectFile {
			continue
		}
		// A project file is also resolved on top of this machine's
		// lower layers, to find semantic problems and widenings.
		below, err := lowerLayers(fe)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, w, err := profile.Assess(fe.Env, append(below, layer), profile.Flags{})
		if err != nil {
			// Problems of the invocation (such as where the file lies)
			// are not problems of the file.
			for _, p := range profile.Problems(err) {
				if p.File != "" {
					errs = append(errs, p)
				}
			}
			continue
		}
		wide = append(wide, w...)
	}
	return c.report(s, profile.JoinProblems(errs...), wide)
}

// layerKindOf tells which layer a file given to check belongs to: the
// kind of the location it is, or a project file (whose relative paths are
// relative to its directory) for any other file.
func layerKindOf(env userEnv, name string) profile.LayerKind {
	e := env.Env
	e.ProjectDir = ""
	for _, loc := range profile.Locations(e) {
		if loc.Path == name {
			return loc.Kind
		}
	}
	return profile.LayerProject
}

// checkLayers checks every layer for the current directory, resolved together.
func (c *checkCmd) checkLayers(s stdio) error {
	sess, err := resolveSession(".", profile.Flags{})
	if err != nil {
		found := profile.Problems(err)
		if len(found) == 0 {
			return err
		}
		var inFiles []error
		for _, p := range found {
			if p.File != "" {
				inFiles = append(inFiles, p)
			}
		}
		if len(inFiles) > 0 {
			return c.report(s, profile.JoinProblems(inFiles...), nil)
		}
		// Only the invocation was refused (such as the current directory
		// being the home dir): the files themselves are checked with
		// --force semantics for the project dir.
		sess, err = resolveSession(".", profile.Flags{Force: true})
		if err != nil {
			return c.report(s, err, nil)
		}
	}
	return c.report(s, nil, sess.widenings)
}

func (c *checkCmd) report(s stdio, problems error, wide []profile.Widening) error {
	failed := problems != nil
	if problems != nil {
		printError(s.err, problems)
	}
	if c.NoWiden && len(wide) > 0 {
		failed = true
		for _, w := range wide {
			fmt.Fprintf(s.err, "claude-sandbox: %s: widens the policy: %s\n", describeOrigin(w.Origin), w.Message)
		}
	}
	if failed {
		return &exitError{status: exitInvalid}
	}
	fmt.Fprintln(s.out, "ok")
	return nil
}

// lowerLayers reads and decodes the layers below the project file.
func lowerLayers(env userEnv) ([]*profile.Layer, error) {
	env.ProjectDir = filepath.Clean(env.ProjectDir)
	abs, err := filepath.Abs(env.ProjectDir)
	if err != nil {
		return nil, err
	}
	env.ProjectDir = abs
	noProject := env
	noProject.Env.ProjectDir = ""
	l, err := loadLayers(noProject)
	if err != nil {
		return nil, err
	}
	if len(l.layers) == 0 {
		return nil, errors.New("no layers")
	}
	return l.layers, nil
}

func describeOrigin(o profile.Origin) string {
	switch {
	case o.File == "":
		return "command line"
	case o.Line > 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	default:
		return o.File
	}
}
