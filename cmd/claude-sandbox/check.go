package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// checkCmd validates profile files.
type checkCmd struct {
	NoWiden bool     `name:"no-widen" help:"Also fail when a project file widens the policy of the layers below it (trusted or not)."`
	Files   []string `arg:"" optional:"" help:"Files to check (default: every layer that applies to the current directory). A file that is not a configured layer is checked as a project file." type:"path"`
}

// Run checks the files and exits 1 when any is invalid, or would be
// refused by a launch: a value the launcher refuses (such as a read-write
// mount of ~/.ssh), or a project file that widens the policy and is not
// trusted.
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
	var untrusted []string
	for _, name := range c.Files {
		data, err := readLayerFile(name)
		if err != nil {
			errs = append(errs, &profile.Problem{File: name, Message: "cannot read the file: " + err.Error()})
			continue
		}
		fe := env
		fe.ProjectDir = filepath.Dir(name)
		kind := layerKindOf(env, name)
		layer, err := profile.Decode(kind, name, data, fe.Env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// The file is also resolved in its place among this machine's
		// other layers, as a launch would resolve it, to find what the
		// launcher refuses and what widens the policy.
		below, err := lowerLayers(fe)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		layers := []*profile.Layer{layer}
		for _, l := range below {
			if l.Kind != kind {
				layers = append(layers, l)
			}
		}
		sort.SliceStable(layers, func(i, j int) bool { return layerRank[layers[i].Kind] < layerRank[layers[j].Kind] })
		w, problems := assessFile(fe.Env, layers)
		if len(problems) > 0 {
			errs = append(errs, problems...)
			continue
		}
		if kind != profile.LayerProject {
			continue
		}
		wide = append(wide, w...)
		// A launch reads only a project's .claude-sandbox.toml, and
		// refuses it when it widens and is not trusted.
		if len(w) > 0 && filepath.Base(name) == profile.ProjectFile {
			abs, err := filepath.Abs(name)
			if err != nil {
				return err
			}
			ok, err := newTrustStore(env).trusted(abs, data)
			if err != nil {
				return err
			}
			if !ok {
				untrusted = append(untrusted, abs)
			}
		}
	}
	return c.report(s, profile.JoinProblems(errs...), wide, untrusted)
}

// assessFile resolves layers as a launch would and returns the widenings
// of a project file on top, or the problems found in the files. Problems
// of the invocation alone (such as where the file lies: a directory that
// holds the home dir) are not problems of the file; the file is then
// judged as if that directory were accepted with --force.
func assessFile(env profile.Env, layers []*profile.Layer) ([]profile.Widening, []error) {
	_, w, err := profile.Assess(env, layers, profile.Flags{})
	if err == nil {
		return w, nil
	}
	var inFiles []error
	for _, p := range profile.Problems(err) {
		if p.File != "" {
			inFiles = append(inFiles, p)
		}
	}
	if len(inFiles) > 0 {
		return nil, inFiles
	}
	_, w, err = profile.Assess(env, layers, profile.Flags{Force: true})
	if err != nil {
		return nil, []error{err}
	}
	return w, nil
}

// layerRank orders the layer kinds, lowest first.
var layerRank = map[profile.LayerKind]int{
	profile.LayerBuiltin: 0, profile.LayerPackage: 1, profile.LayerSystem: 2, profile.LayerUser: 3, profile.LayerProject: 4,
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
			return c.report(s, profile.JoinProblems(inFiles...), nil, nil)
		}
		// Only the invocation was refused (such as the current directory
		// being the home dir): the files themselves are checked with
		// --force semantics for the project dir.
		sess, err = resolveSession(".", profile.Flags{Force: true})
		if err != nil {
			return c.report(s, err, nil, nil)
		}
	}
	var untrusted []string
	if sess.trustState == trustUntrusted {
		untrusted = []string{sess.project.Path}
	}
	return c.report(s, nil, sess.widenings, untrusted)
}

// report prints the problems, the widenings that fail the check and the
// project files a launch would refuse as untrusted; it exits 1 when there
// is any.
func (c *checkCmd) report(s stdio, problems error, wide []profile.Widening, untrusted []string) error {
	failed := problems != nil
	if problems != nil {
		printError(s.err, problems)
	}
	for _, file := range untrusted {
		failed = true
		fmt.Fprintf(s.err, "claude-sandbox: %s: valid, but widens the policy and is not trusted, so a launch refuses it:\n", file)
		for _, w := range wide {
			if w.Origin.File == file {
				fmt.Fprintf(s.err, "claude-sandbox:   %s\n", w)
			}
		}
		fmt.Fprintf(s.err, "claude-sandbox: review it, then run: claude-sandbox trust %s\n", shellWord(filepath.Dir(file)))
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
