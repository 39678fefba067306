package render

import (
	"path"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// SystemPath is the PATH inside every sandbox before the agent's own
// directories are added.
const SystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Environment computes the sandbox's complete environment for policy p on
// host h and the names whose values are secret. Nothing from the host's
// environment enters except what the policy grants: HOME, USER, LOGNAME,
// PATH, TERM, the locale with forward.locale, the variables of forwarded
// sockets that are present, env.pass names set on the host, env.set values,
// GH_TOKEN and GITHUB_TOKEN with forward.gh_token, and the network mode's
// proxy variables. sockets holds the in-sandbox socket variables chosen by
// the backend (DISPLAY, SSH_AUTH_SOCK, ...).
func Environment(p *profile.Policy, h *Host, backend profile.Backend, sockets map[string]string) (env map[string]string, secret []string) {
	env = map[string]string{
		"HOME":                   h.Home,
		"USER":                   h.User,
		"LOGNAME":                h.User,
		"SHELL":                  LoginShell(h),
		"PATH":                   sandboxPath(p, h),
		"TERM":                   orDefault(h.Env["TERM"], "xterm-256color"),
		"XDG_RUNTIME_DIR":        Runtime(h),
		"CLAUDE_SANDBOX":         "1",
		"CLAUDE_SANDBOX_BACKEND": string(backend),
	}
	if v := h.Env["COLORTERM"]; v != "" {
		env["COLORTERM"] = v
	}
	if p.Forward.Claude {
		env["CLAUDE_CONFIG_DIR"] = path.Join(h.Home, ".claude")
	}
	if p.Forward.Locale {
		for k, v := range h.Env {
			if v != "" && (k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_")) {
				env[k] = v
			}
		}
	}
	if p.Forward.Nix && h.Exists("/nix/var/nix/daemon-socket") {
		env["NIX_REMOTE"] = "daemon"
	}
	for k, v := range sockets {
		env[k] = v
	}
	for k, v := range NetworkFor(p, h, backend).Env {
		env[k] = v
	}
	for _, name := range p.Env.Pass {
		if v, ok := h.Env[name]; ok && v != "" {
			env[name] = v
			secret = append(secret, name)
		}
	}
	if p.Forward.GHToken {
		for _, name := range []string{"GH_TOKEN", "GITHUB_TOKEN"} {
			if v := h.Env[name]; v != "" {
				env[name] = v
				secret = append(secret, name)
			}
		}
	}
	for k, v := range p.Env.Set {
		env[k] = v
		secret = append(secret, k)
	}
	sort.Strings(secret)
	return env, dedupe(secret)
}

// EnvList turns an environment map into sorted NAME=VALUE entries.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// sandboxPath is the PATH inside: the system directories, NixOS's system
// profile, the agent's own directory and the persisted ~/.local/bin.
func sandboxPath(p *profile.Policy, h *Host) string {
	dirs := []string{SystemPath}
	if h.NixOS || h.Exists("/run/current-system") {
		dirs = append(dirs, "/run/current-system/sw/bin")
	}
	if h.CommandPath != "" {
		if p.UseShell {
			if !onSystemPath(h.CommandPath) {
				dirs = append(dirs, AgentBin(h))
			}
		} else {
			dirs = append(dirs, path.Dir(h.Real(h.CommandPath)))
		}
		// Its interpreter (node) often sits beside it: /opt/node/bin.
		if d := path.Dir(h.CommandPath); !within(d, h.Home) {
			dirs = append(dirs, d)
		}
	}
	dirs = append(dirs, path.Join(h.Home, ".local/bin"))
	return strings.Join(dedupe(strings.Split(strings.Join(dirs, ":"), ":")), ":")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// dedupe removes repeated entries, keeping the first of each.
func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
