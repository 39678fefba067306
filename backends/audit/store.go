package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Store is a project's audit state directory
// ($XDG_STATE_HOME/claude-sandbox/audit/<project>): the snapshot of every
// run in progress (run-PID.json) and the findings the user has not
// accepted yet (findings.json).
type Store struct {
	Dir   string
	Scope Scope
	// UID and GID own what the store writes, when the launcher runs as
	// root on a user's behalf (-1: leave as created).
	UID, GID int
}

const findingsFile = "findings.json"

// runFile is a run's persisted snapshot, so that a run whose launcher was
// killed is audited by the next one.
type runFile struct {
	PID int `json:"pid"`
	// Start is the process's start time (clock ticks after boot), so a
	// reused PID is not taken for the run.
	Start    string   `json:"start"`
	Snapshot Snapshot `json:"snapshot"`
}

// Run is a launch being audited.
type Run struct {
	store  Store
	file   string
	before Snapshot
}

// Begin is called before the sandbox starts: it audits the runs whose
// launcher died without auditing, warns about findings still pending,
// and records the snapshot this run is compared with at its end.
func (s Store) Begin(w io.Writer) (*Run, error) {
	if err := s.mkdir(); err != nil {
		return nil, err
	}
	unlock, now, found, err := s.lockAndAuditDead()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if len(found) > 0 {
		fmt.Fprintln(w, "claude-sandbox: audit: an earlier run in this project ended without its audit; what it changed:")
		Report(w, found)
		if anyQuarantined(found) {
			if now, err = Take(s.Scope); err != nil {
				return nil, err
			}
		}
	}
	pending, err := s.pending()
	if err != nil {
		return nil, err
	}
	if len(pending) > len(found) {
		fmt.Fprintln(w, "claude-sandbox: audit: files changed by earlier sandboxed runs are still pending review:")
		for _, f := range pending {
			if slices.ContainsFunc(found, func(g Finding) bool { return g.Path == f.Path }) {
				continue
			}
			line := "claude-sandbox: audit:   " + f.Path + " (" + kindByID(f.Kind).Label
			if f.Quarantine != "" {
				line += ", renamed aside to " + f.Quarantine
			}
			fmt.Fprintln(w, line+")")
		}
		fmt.Fprintln(w, "claude-sandbox: audit: "+s.acceptHint())
	}
	r := &Run{store: s, before: now, file: filepath.Join(s.Dir, "run-"+strconv.Itoa(os.Getpid())+".json")}
	if err := s.writeJSON(r.file, runFile{PID: os.Getpid(), Start: startTime(os.Getpid()), Snapshot: now}); err != nil {
		return nil, err
	}
	return r, nil
}

func anyQuarantined(fs []Finding) bool {
	for _, f := range fs {
		if f.Quarantine != "" {
			return true
		}
	}
	return false
}

// End is called when the sandbox has ended (normally, with an error or
// after a signal): it compares, neutralises, records and reports.
func (r *Run) End(w io.Writer) error {
	unlock, err := r.store.lock()
	if err != nil {
		return err
	}
	defer unlock()
	now, err := Take(r.store.Scope)
	if err != nil {
		return err
	}
	found := Neutralise(Compare(r.before, now))
	if err := r.store.record(found); err != nil {
		return err
	}
	os.Remove(r.file)
	if len(found) > 0 {
		fmt.Fprintln(w, "claude-sandbox: audit: the sandboxed run added or changed files that tools on the host run by themselves:")
		Report(w, found)
		fmt.Fprintln(w, "claude-sandbox: audit: "+r.store.acceptHint())
	}
	return nil
}

// Check audits the runs whose launcher died, and returns every finding
// still pending, re-examined: the ones the user reverted are dropped.
func (s Store) Check() ([]Finding, error) {
	if _, err := os.Stat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, _, _, err := s.lockAndAuditDead()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.pending()
}

// lockAndAuditDead takes the store's lock, snapshots the scope and audits
// the runs whose launcher died against that snapshot, which it returns
// with their findings. On success the lock is held until unlock is called.
func (s Store) lockAndAuditDead() (unlock func(), now Snapshot, found []Finding, err error) {
	unlock, err = s.lock()
	if err != nil {
		return nil, nil, nil, err
	}
	if now, err = Take(s.Scope); err == nil {
		found, err = s.auditDead(now)
	}
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return unlock, now, found, nil
}

// Accept forgets the pending findings: the user reviewed them.
// Quarantined files stay where they are.
func (s Store) Accept() ([]Finding, error) {
	found, err := s.Check()
	if err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(s.Dir, findingsFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return found, nil
}

// auditDead compares now with the snapshot of every run whose launcher
// no longer exists, records the findings and removes those runs' files.
func (s Store) auditDead(now Snapshot) ([]Finding, error) {
	names, _ := filepath.Glob(filepath.Join(s.Dir, "run-*.json"))
	var all []Finding
	for _, name := range names {
		var rf runFile
		if err := readJSON(name, &rf); err != nil {
			os.Remove(name)
			continue
		}
		if rf.PID > 0 && startTime(rf.PID) == rf.Start && rf.Start != "" {
			continue // still running
		}
		found := Neutralise(Compare(rf.Snapshot, now))
		if err := s.record(found); err != nil {
			return nil, err
		}
		os.Remove(name)
		all = append(all, found...)
	}
	return all, nil
}

// pending re-examines the recorded findings, keeps those not resolved
// and returns them.
func (s Store) pending() ([]Finding, error) {
	var list []Finding
	p := filepath.Join(s.Dir, findingsFile)
	if err := readJSON(p, &list); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var keep []Finding
	for _, f := range list {
		if !Resolved(f) {
			keep = append(keep, f)
		}
	}
	if len(keep) != len(list) {
		if len(keep) == 0 {
			os.Remove(p)
		} else if err := s.writeJSON(p, keep); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// record adds findings to the pending list; a later finding on a path
// keeps the earliest state as its "before".
func (s Store) record(found []Finding) error {
	if len(found) == 0 {
		return nil
	}
	p := filepath.Join(s.Dir, findingsFile)
	var list []Finding
	if err := readJSON(p, &list); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, f := range found {
		replaced := false
		for i := range list {
			if list[i].Path == f.Path {
				f.Before, f.New = list[i].Before, list[i].New
				f.Runs = append(list[i].Runs, added(list[i].Runs, f.Runs)...)
				if f.Quarantine == "" {
					f.Quarantine = list[i].Quarantine
				}
				list[i], replaced = f, true
			}
		}
		if !replaced {
			list = append(list, f)
		}
	}
	return s.writeJSON(p, list)
}

func (s Store) acceptHint() string {
	return "review them, then run: claude-sandbox audit --accept " + quote(s.Scope.Project)
}

func (s Store) mkdir() error {
	var missing []string
	for p := s.Dir; p != "/" && p != "."; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil && !os.IsExist(err) {
			return fmt.Errorf("audit state: %w", err)
		}
		s.chown(missing[i])
	}
	return nil
}

func (s Store) chown(p string) {
	if s.UID >= 0 && os.Getuid() == 0 && s.UID != 0 {
		os.Lchown(p, s.UID, s.GID)
	}
}

// lock serialises the launchers of one project over the store.
func (s Store) lock() (func(), error) {
	p := filepath.Join(s.Dir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit state: %w", err)
	}
	s.chown(p)
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit state: %w", err)
	}
	return func() { f.Close() }, nil
}

// writeJSON replaces p atomically.
func (s Store) writeJSON(p string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	s.chown(tmp)
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	return nil
}

func readJSON(p string, v any) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// startTime is a process's start time from /proc, "" when it is gone.
func startTime(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}
