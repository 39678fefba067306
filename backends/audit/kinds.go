package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Kind is a kind of file that a tool on the host runs or loads by itself.
// The table Kinds drives detection (where a kind is found is decided by
// classify, what in it executes by Exec), the messages and the
// documentation.
type Kind struct {
	// ID names the kind in the state files.
	ID string
	// Label is how a message names it.
	Label string
	// Where is where it is looked for, for the documentation.
	Where string
	// Runs says which tool runs it and when.
	Runs string
	// Quarantine is true when a finding is neutralised by renaming the
	// file aside: the tool would run it without asking.
	Quarantine bool
	// Exec lists what in a file's content executes. A change is a finding
	// only when it adds an entry. Nil: every new or changed file is one.
	Exec func(data []byte) []string
}

// Kind identifiers.
const (
	KindRepoConfig  = "git-config"
	KindHook        = "git-hook"
	KindGitLink     = "git-dir-link"
	KindGitDirLink  = "git-dir-symlink"
	KindGitConfig   = "gitconfig"
	KindGitmodules  = "gitmodules"
	KindHookScript  = "hook-script"
	KindEnvrc       = "envrc"
	KindEditor      = "editor"
	KindClaudeSet   = "claude-settings"
	KindClaudeFile  = "claude-file"
	KindMCP         = "mcp"
	KindClaudeState = "claude-state"
	KindShellRC     = "shell-rc"
)

// Kinds is the vocabulary of the audit.
var Kinds = []Kind{
	{ID: KindRepoConfig, Label: "git repository config", Where: "config and config.worktree in every git directory (.git, .git/modules/*, .git/worktrees/*, bare repositories)",
		Runs: "git runs these commands in that repository", Quarantine: true, Exec: gitConfigExec},
	{ID: KindHook, Label: "git hook", Where: "files in the hooks directory of every git directory and in the directory a repository's core.hooksPath names inside the project, except *.sample",
		Runs: "git runs it at the matching event", Quarantine: true},
	{ID: KindGitDirLink, Label: "symbolic link in a git directory", Where: "symbolic links anywhere in a git directory",
		Runs: "git follows it to a file it may run", Quarantine: true, Exec: linkExec},
	{ID: KindGitLink, Label: "git directory redirect", Where: ".git files (gitdir: ...), commondir and gitdir files",
		Runs: "git uses the configuration and hooks of the directory it names", Exec: lineExec},
	{ID: KindGitConfig, Label: "project .gitconfig", Where: ".gitconfig files in the project",
		Runs: "git runs these commands where the file is included", Exec: gitConfigExec},
	{ID: KindGitmodules, Label: ".gitmodules", Where: ".gitmodules",
		Runs: "git submodule update runs these commands", Exec: gitmodulesExec},
	{ID: KindHookScript, Label: "hook script", Where: ".husky/ and .githooks/",
		Runs: "git runs it when core.hooksPath points here"},
	{ID: KindEnvrc, Label: "direnv file", Where: ".envrc",
		Runs: "direnv runs it on entering the directory once allowed"},
	{ID: KindEditor, Label: "editor configuration", Where: ".vscode/ and .idea/",
		Runs: "the editor runs tasks and tools it names, some on opening the folder"},
	{ID: KindClaudeSet, Label: "Claude Code settings", Where: ".claude/settings.json and settings.local.json, in the project and ~/.claude",
		Runs: "Claude Code runs these hooks and helpers", Exec: claudeSettingsExec},
	{ID: KindClaudeFile, Label: "Claude Code extension", Where: "commands/, agents/, hooks/, skills/ and plugins/ in .claude and ~/.claude",
		Runs: "Claude Code loads it (commands, agents, skills, plugins can run tools)"},
	{ID: KindMCP, Label: "MCP server list", Where: ".mcp.json",
		Runs: "Claude Code starts these servers", Exec: mcpExec},
	{ID: KindClaudeState, Label: "Claude Code MCP servers", Where: "~/.claude/.claude.json",
		Runs: "Claude Code starts these servers", Exec: claudeStateExec},
	{ID: KindShellRC, Label: "shell startup file", Where: ".bashrc, .bash_profile, .profile, .zshrc, .zshenv, .zprofile, .zlogin and similar",
		Runs: "a shell started here runs it"},
}

// kindByID finds a kind of the table.
func kindByID(id string) *Kind {
	for i := range Kinds {
		if Kinds[i].ID == id {
			return &Kinds[i]
		}
	}
	return nil
}

// shellRC are the shell startup files' names.
var shellRC = map[string]bool{".bashrc": true, ".bash_profile": true, ".bash_login": true, ".bash_logout": true, ".profile": true,
	".zshrc": true, ".zshenv": true, ".zprofile": true, ".zlogin": true, ".zlogout": true, ".kshrc": true, ".cshrc": true, ".tcshrc": true}

// gitExecutes reports whether git runs a program named by entry e.
func gitExecutes(e ConfigEntry) bool {
	switch e.Section {
	case "core":
		switch e.Key {
		case "fsmonitor":
			switch strings.ToLower(e.Value) {
			case "true", "false", "yes", "no", "on", "off", "1", "0", "":
				return false
			}
			return true
		case "hookspath", "pager", "editor", "sshcommand", "askpass", "gitproxy", "alternaterefscommand":
			return true
		}
	case "alias":
		return strings.HasPrefix(strings.TrimSpace(e.Value), "!")
	case "filter":
		return e.Subsection != "" && (e.Key == "clean" || e.Key == "smudge" || e.Key == "process")
	case "diff":
		return e.Key == "external" || e.Subsection != "" && (e.Key == "command" || e.Key == "textconv")
	case "merge":
		return e.Subsection != "" && e.Key == "driver"
	case "mergetool", "difftool":
		return e.Key == "cmd" || e.Key == "path"
	case "include":
		return e.Key == "path"
	case "includeif":
		return e.Key == "path"
	case "credential":
		return e.Key == "helper"
	case "sequence":
		return e.Key == "editor"
	case "gpg":
		return e.Key == "program"
	case "pager":
		return true
	case "hook":
		return e.Key == "command" || e.Key == "event"
	case "trailer":
		return e.Key == "command" || e.Key == "cmd"
	case "submodule":
		return e.Key == "update" && strings.HasPrefix(strings.TrimSpace(e.Value), "!")
	case "remote":
		return e.Key == "uploadpack" || e.Key == "receivepack" || e.Key == "vcs" ||
			(e.Key == "url" || e.Key == "pushurl") && strings.HasPrefix(e.Value, "ext::")
	case "protocol":
		return e.Key == "allow" && strings.EqualFold(e.Value, "always")
	case "uploadpack":
		return e.Key == "packobjectshook"
	case "interactive":
		return e.Key == "difffilter"
	case "browser", "man":
		return e.Key == "cmd" || e.Key == "path"
	case "web":
		return e.Key == "browser"
	case "sendemail":
		return e.Key == "smtpserver" || e.Key == "sendmailcmd"
	}
	return false
}

// gitConfigExec lists the entries of a git config that run a program.
func gitConfigExec(data []byte) []string {
	entries, err := ParseGitConfig(data)
	var out []string
	for _, e := range entries {
		if gitExecutes(e) {
			out = append(out, e.Name()+" = "+e.Value)
		}
	}
	if err != nil && len(entries) == 0 && len(bytes.TrimSpace(data)) > 0 {
		// Git refuses a file it cannot read; say what changed anyway.
		out = append(out, "(unreadable: "+err.Error()+")")
	}
	return out
}

// gitmodulesExec lists submodule update commands.
func gitmodulesExec(data []byte) []string {
	entries, _ := ParseGitConfig(data)
	var out []string
	for _, e := range entries {
		if e.Section == "submodule" && e.Key == "update" && strings.HasPrefix(strings.TrimSpace(e.Value), "!") {
			out = append(out, e.Name()+" = "+e.Value)
		}
	}
	return out
}

// lineExec is the content of a one-line file.
func lineExec(data []byte) []string {
	return []string{strings.TrimSpace(string(data))}
}

// linkExec is never called for content: a link's entry is its target.
func linkExec([]byte) []string { return nil }

// helperKeys are Claude Code settings that name a program.
var helperKeys = map[string]bool{"apiKeyHelper": true, "awsAuthRefresh": true, "awsCredentialExport": true, "otelHeadersHelper": true}

// claudeSettingsExec lists the hooks and helper programs of a Claude
// Code settings file, and the switches that start MCP servers unasked.
func claudeSettingsExec(data []byte) []string {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return []string{"(not valid JSON)"}
	}
	var out []string
	for k, x := range v {
		switch {
		case helperKeys[k]:
			out = append(out, fmt.Sprintf("%s: %v", k, x))
		case k == "hooks" || k == "statusLine" || k == "fileSuggestion":
			commands(k, x, &out)
		case k == "enableAllProjectMcpServers" && x == true:
			out = append(out, "enableAllProjectMcpServers: true")
		case k == "enabledMcpjsonServers" || k == "mcpServers":
			out = append(out, k+": "+compact(x))
		}
	}
	sort.Strings(out)
	return out
}

// commands collects every "command" string below x.
func commands(path string, x any, out *[]string) {
	switch x := x.(type) {
	case map[string]any:
		for k, y := range x {
			if s, ok := y.(string); ok && k == "command" {
				*out = append(*out, path+": "+s)
				continue
			}
			commands(path+"."+k, y, out)
		}
	case []any:
		for _, y := range x {
			commands(path, y, out)
		}
	}
}

// compact is a JSON value on one line.
func compact(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// servers lists an mcpServers object: one entry per server.
func servers(prefix string, x any) []string {
	m, _ := x.(map[string]any)
	var out []string
	for name, s := range m {
		out = append(out, prefix+name+": "+compact(s))
	}
	return out
}

// mcpExec lists the servers of an .mcp.json.
func mcpExec(data []byte) []string {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return []string{"(not valid JSON)"}
	}
	out := servers("server ", v["mcpServers"])
	sort.Strings(out)
	return out
}

// claudeStateExec lists the MCP servers in Claude Code's global
// configuration, which it rewrites for many other reasons.
func claudeStateExec(data []byte) []string {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil
	}
	out := servers("server ", v["mcpServers"])
	if projects, ok := v["projects"].(map[string]any); ok {
		for dir, p := range projects {
			if pm, ok := p.(map[string]any); ok {
				out = append(out, servers("project "+dir+": server ", pm["mcpServers"])...)
			}
		}
	}
	sort.Strings(out)
	return out
}

// DocTable is the vocabulary as the README's Markdown table.
func DocTable() string {
	var b strings.Builder
	b.WriteString("| kind | where | why | on a finding |\n|---|---|---|---|\n")
	for _, k := range Kinds {
		action := "reported"
		if k.Quarantine {
			action = "renamed aside"
		}
		if k.Exec != nil {
			action += " when it adds something that runs"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.Label, k.Where, k.Runs, action)
	}
	return b.String()
}
