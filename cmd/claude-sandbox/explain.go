package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/backends"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// explainCmd shows the resolved policy with provenance.
type explainCmd struct {
	selection
	JSON    bool   `name:"json" help:"Print the explanation as a JSON document (format version 1)."`
	All     bool   `name:"all" help:"Also show the command every other backend would run."`
	Project string `arg:"" optional:"" default:"." help:"Project directory (default: the current directory)."`
}

// explanation is the JSON document printed by explain --json. Its shape is
// stable: fields are only ever added, and Version changes when a field
// changes meaning.
type explanation struct {
	Version    int          `json:"version"`
	ProjectDir string       `json:"project_dir"`
	Home       string       `json:"home"`
	Backend    string       `json:"backend"`
	Profile    string       `json:"profile"`
	Layers     []layerDoc   `json:"layers"`
	Profiles   []profileDoc `json:"profiles"`
	Trust      trustDoc     `json:"trust"`
	Settings   []settingDoc `json:"settings"`
	Plan       planDoc      `json:"plan"`
	Others     []planDoc    `json:"other_plans,omitempty"`
}

type layerDoc struct {
	Kind  string `json:"kind"`
	File  string `json:"file"`
	Found bool   `json:"found"`
}

type profileDoc struct {
	Name     string   `json:"name"`
	Files    []string `json:"files"`
	Selected bool     `json:"selected"`
}

type trustDoc struct {
	State     string        `json:"state"`
	File      string        `json:"file,omitempty"`
	SHA256    string        `json:"sha256,omitempty"`
	Widenings []wideningDoc `json:"widenings"`
}

type wideningDoc struct {
	Key     string `json:"key"`
	Message string `json:"message"`
	File    string `json:"file"`
	Line    int    `json:"line"`
}

type settingDoc struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	Layer string `json:"layer"`
	File  string `json:"file"`
	Line  int    `json:"line"`
}

type planDoc struct {
	Backend string   `json:"backend"`
	Argv    []string `json:"argv"`
	Network []string `json:"network_helper,omitempty"`
	Env     []string `json:"env"`
	// DBusProxy is the filtering D-Bus proxy started beside the sandbox.
	DBusProxy []string   `json:"dbus_proxy,omitempty"`
	Limits    []limitDoc `json:"limits"`
	Notes     []string   `json:"notes"`
	// Protected says what holds for every protected path and which
	// layer protects it.
	Protected []protectedDoc `json:"protected"`
	Error     string         `json:"error,omitempty"`
}

// limitDoc says what enforces one [limits] key on this host.
type limitDoc struct {
	Key       string `json:"key"`
	Value     any    `json:"value"`
	Mechanism string `json:"mechanism"`
}

type protectedDoc struct {
	Path  string `json:"path"`
	Key   string `json:"key"`
	Holds string `json:"holds"`
	Layer string `json:"layer,omitempty"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// Run prints the explanation.
func (c *explainCmd) Run(s stdio) error {
	sess, err := resolveSession(c.Project, c.flags(nil))
	if err != nil {
		return err
	}
	doc := explain(sess, renderPlan, c.All)
	if c.JSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
		return nil
	}
	writeExplanation(s.out, doc)
	return nil
}

// redacted stands for a value explain does not print.
const redacted = "<redacted>"

// planner renders the plan of a policy.
type planner func(p *profile.Policy) (*render.Plan, error)

// explain builds the explanation of a session, rendering its plan with
// plan; with all it also renders the policy for every other backend.
func explain(sess *session, plan planner, all bool) explanation {
	p := sess.policy
	doc := explanation{
		Version:    1,
		ProjectDir: p.ProjectDir,
		Home:       p.Home,
		Backend:    string(p.Backend),
		Profile:    p.Profile,
		Trust:      trustDoc{State: sess.trustState, Widenings: []wideningDoc{}},
	}
	for _, f := range sess.files {
		doc.Layers = append(doc.Layers, layerDoc{Kind: string(f.Kind), File: f.Path, Found: f.Found})
	}
	doc.Profiles = []profileDoc{}
	index := map[string]int{}
	for _, l := range sess.layers {
		for _, name := range l.Profiles() {
			i, ok := index[name]
			if !ok {
				i = len(doc.Profiles)
				index[name] = i
				doc.Profiles = append(doc.Profiles, profileDoc{Name: name, Selected: name == p.Profile})
			}
			doc.Profiles[i].Files = append(doc.Profiles[i].Files, l.File)
		}
	}
	sort.Slice(doc.Profiles, func(i, j int) bool { return doc.Profiles[i].Name < doc.Profiles[j].Name })
	if sess.project != nil {
		doc.Trust.File = sess.project.Path
		doc.Trust.SHA256 = digest(sess.project.Data)
	}
	for _, w := range sess.widenings {
		doc.Trust.Widenings = append(doc.Trust.Widenings, wideningDoc{Key: w.Key, Message: w.Message, File: w.Origin.File, Line: w.Origin.Line})
	}
	for _, st := range profile.Settings(p) {
		v := st.Value
		if strings.HasPrefix(st.Key, "env.set.") {
			// Values set for the sandbox may be secrets: explain shows
			// that a variable is set, never its value.
			v = redacted
		}
		doc.Settings = append(doc.Settings, settingDoc{Key: st.Key, Value: v, Layer: string(st.Origin.Layer), File: st.Origin.File, Line: st.Origin.Line})
	}
	doc.Plan = planFor(p, plan)
	if all {
		for _, b := range profile.Backends {
			if b == p.Backend {
				continue
			}
			other := *p
			other.Backend = b
			doc.Others = append(doc.Others, planFor(&other, plan))
		}
	}
	return doc
}

// planFor renders p and describes the result.
func planFor(p *profile.Policy, plan planner) planDoc {
	d := planDoc{Backend: string(p.Backend), Argv: []string{}, Env: []string{}, Limits: []limitDoc{}, Notes: []string{}, Protected: []protectedDoc{}}
	rendered, err := plan(p)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	d.Argv = rendered.Argv
	d.Network = rendered.Network
	d.Env = envNames(rendered)
	if rendered.DBusProxy != nil {
		d.DBusProxy = rendered.DBusProxy.Argv
	}
	values := map[string]any{}
	for _, st := range profile.LimitSettings(rendered.Limits.Values) {
		values[strings.TrimPrefix(st.Key, "limits.")] = st.Value
	}
	for _, m := range rendered.Limits.Mechanisms {
		d.Limits = append(d.Limits, limitDoc{Key: m.Key, Value: values[m.Key], Mechanism: m.How})
	}
	if rendered.Notes != nil {
		d.Notes = rendered.Notes
	}
	for _, pr := range rendered.Protected {
		o := p.Origins[pr.Key]
		d.Protected = append(d.Protected, protectedDoc{Path: pr.Path, Key: pr.Key, Holds: pr.Holds,
			Layer: string(o.Layer), File: o.File, Line: o.Line})
	}
	return d
}

// renderPlan probes the host and renders the policy's backend.
func renderPlan(p *profile.Policy) (*render.Plan, error) {
	host, err := backends.Probe(p)
	if err != nil {
		return nil, err
	}
	return backends.Render(p, host)
}

// maxAlign is the widest setting line whose origin comment is aligned
// with the others; longer lines keep their comment two spaces after.
const maxAlign = 48

// writeExplanation prints the human-readable form.
func writeExplanation(w io.Writer, doc explanation) {
	fmt.Fprintf(w, "project: %s\n", doc.ProjectDir)
	fmt.Fprintf(w, "home:    %s\n", doc.Home)
	if doc.Profile != "" {
		fmt.Fprintf(w, "profile: %s\n", doc.Profile)
	}
	fmt.Fprintln(w, "\nlayers (lowest first):")
	for _, l := range doc.Layers {
		state := "found"
		if !l.Found {
			state = "absent"
		}
		fmt.Fprintf(w, "  %-8s %s (%s)\n", l.Kind, l.File, state)
	}
	if len(doc.Profiles) > 0 {
		fmt.Fprintln(w, "\nprofiles:")
		for _, pr := range doc.Profiles {
			mark := " "
			if pr.Selected {
				mark = "*"
			}
			fmt.Fprintf(w, "  %s %s (%s)\n", mark, pr.Name, strings.Join(pr.Files, ", "))
		}
	}
	fmt.Fprintln(w, "\ntrust:")
	switch doc.Trust.State {
	case trustNone:
		fmt.Fprintln(w, "  no project file")
	case trustNarrowing:
		fmt.Fprintf(w, "  %s only narrows the policy: applies without trust\n", doc.Trust.File)
	case trustTrusted:
		fmt.Fprintf(w, "  %s widens the policy and is trusted (sha256 %s)\n", doc.Trust.File, doc.Trust.SHA256)
	case trustUntrusted:
		fmt.Fprintf(w, "  %s widens the policy and is NOT trusted: run refuses it until `claude-sandbox trust`\n", doc.Trust.File)
	}
	for _, wd := range doc.Trust.Widenings {
		fmt.Fprintf(w, "    widens: %s (%s:%d)\n", wd.Message, wd.File, wd.Line)
	}
	fmt.Fprintln(w, "\npolicy:")
	width := 0
	lines := make([]string, len(doc.Settings))
	for i, st := range doc.Settings {
		lines[i] = profile.DisplayKey(st.Key) + " = " + profile.FormatValue(st.Value)
		if len(lines[i]) <= maxAlign {
			width = max(width, len(lines[i]))
		}
	}
	for i, st := range doc.Settings {
		o := "(not set)"
		switch {
		case st.Layer == string(profile.LayerFlags):
			o = "flags"
		case st.Layer != "" && st.Line > 0:
			o = fmt.Sprintf("%s %s:%d", st.Layer, st.File, st.Line)
		case st.Layer != "":
			o = fmt.Sprintf("%s %s", st.Layer, st.File)
		}
		fmt.Fprintf(w, "  %-*s  # %s\n", width, lines[i], o)
	}
	for _, pd := range append([]planDoc{doc.Plan}, doc.Others...) {
		writePlan(w, pd)
	}
}

func writePlan(w io.Writer, pd planDoc) {
	fmt.Fprintf(w, "\nbackend: %s\n", pd.Backend)
	if pd.Error != "" {
		fmt.Fprintf(w, "command: unavailable: %s\n", pd.Error)
		return
	}
	fmt.Fprintf(w, "command: %s\n", render.ShellQuote(pd.Argv))
	if len(pd.Network) > 0 {
		fmt.Fprintf(w, "network helper (attached to a new network namespace the command starts in): %s\n", render.ShellQuote(pd.Network))
	}
	fmt.Fprintf(w, "environment (values redacted): %s\n", strings.Join(pd.Env, " "))
	if len(pd.Limits) > 0 {
		fmt.Fprintln(w, "limits (enforced by):")
		for _, l := range pd.Limits {
			if l.Mechanism == profile.Unlimited {
				fmt.Fprintf(w, "  %s = %s\n", l.Key, profile.FormatValue(l.Value))
				continue
			}
			fmt.Fprintf(w, "  %s = %s: %s\n", l.Key, profile.FormatValue(l.Value), l.Mechanism)
		}
	}
	if len(pd.DBusProxy) > 0 {
		fmt.Fprintf(w, "dbus proxy: %s\n", render.ShellQuote(pd.DBusProxy))
	}
	for _, pr := range pd.Protected {
		key := profile.DisplayKey(pr.Key)
		o := key
		switch {
		case pr.Key == "":
			o = "in every repository"
		case pr.Layer != "" && pr.Line > 0:
			o = fmt.Sprintf("%s, %s %s:%d", key, pr.Layer, pr.File, pr.Line)
		case pr.Layer != "":
			o = fmt.Sprintf("%s, %s", key, pr.Layer)
		}
		fmt.Fprintf(w, "protected: %s: %s (%s)\n", pr.Path, pr.Holds, o)
	}
	for _, n := range pd.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
