package main

import (
	"fmt"
	"runtime/debug"
)

// versionCmd prints the version.
type versionCmd struct{}

// Run prints the version.
func (versionCmd) Run(s stdio) error {
	fmt.Fprintf(s.out, "claude-sandbox %s\n", versionString())
	return nil
}

// versionString is the release version set at link time, or else what the
// Go toolchain recorded: the module version of a published build, or the
// source revision, its time and whether the tree had local changes.
func versionString() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	return describeBuild(info)
}

// describeBuild renders the version information of a build.
func describeBuild(info *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if v := info.Main.Version; v != "" && v != "(devel)" && rev == "" {
		return v
	}
	if rev == "" {
		return "dev (built without version control information)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	out := "dev " + rev
	if t := settings["vcs.time"]; t != "" {
		out += " " + t
	}
	if settings["vcs.modified"] == "true" {
		out += " (modified)"
	}
	return out
}
