package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// initCmd writes a commented project file.
type initCmd struct {
	Project string `arg:"" optional:"" default:"." help:"Project directory (default: the current directory)."`
}

// projectTemplate is the file init writes. Every setting is commented out,
// so the file changes nothing until edited; it passes check as it is.
const projectTemplate = `# claude-sandbox settings for this project.
#
# This file is read after the built-in, system and user settings and
# before the command-line flags. Settings that only narrow the policy
# (turning things off, hiding paths, fewer resources) apply as soon as
# they are written. Settings that widen it (network on, a new mount, a
# forwarded resource, an environment variable, another command) are
# refused until you run "claude-sandbox trust" in this directory; any
# later edit must be trusted again. "claude-sandbox explain" shows the
# resolved policy and where each value comes from.

# Backend: "bubblewrap" (fast, default), "container" (systemd-nspawn) or
# "vm" (QEMU, separate kernel).
# backend = "vm"

# Network: "off", "allowlist" (only the [egress] domains), "full" or "host".
# network = "allowlist"

# Domains reachable under "allowlist". "github.com" matches that name
# only; "*.github.com" matches the names below it (api.github.com), not
# github.com itself. Claude Code's own hosts (api.anthropic.com, its
# sign-in and feature-flag hosts) are allowed by default.
# [egress]
# allow = ["github.com", "*.github.com", "registry.npmjs.org"]
# localhost_ports = [5432]

# Extra mounts: "rw", "ro", "tmpfs" (empty) or "hide". Relative paths are
# relative to this project; ~ is your home.
# [mounts]
# "secrets" = "hide"
# "~/datasets" = { mode = "ro", target = "/data", optional = true }

# Host resources shared with the sandbox.
# [forward]
# ssh_keys = false
# display = true

# Environment variables passed from the host or set to a value.
# [env]
# pass = ["ANTHROPIC_API_KEY"]
# set = { RUST_BACKTRACE = "1" }

# [vm]
# memory = "8G"
# cpus = 4
`

// Run writes the template, refusing to overwrite.
func (c *initCmd) Run(s stdio) error {
	env, err := invokingUser()
	if err != nil {
		return err
	}
	dir, err := projectDir(c.Project)
	if err != nil {
		return err
	}
	if err := profile.CheckFile(profile.ProjectFile, []byte(projectTemplate)); err != nil {
		return fmt.Errorf("internal template: %w", err)
	}
	path := filepath.Join(dir, profile.ProjectFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting it", path)
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.WriteString(projectTemplate); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := env.Owner.chown(path); err != nil {
		os.Remove(path)
		return err
	}
	fmt.Fprintf(s.out, "wrote %s\n", path)
	return nil
}
