// Command launchcost measures what a bubblewrap launch costs, in one run:
// a bare static Go program's start, a minimal bwrap, the raw bwrap command
// the launcher renders (with the descriptors it names fed), the launcher's
// dry run and the launcher itself. Rows run interleaved, in a new random
// order each round, so a busy machine slows every row alike; it prints
// each row's median wall time, the range between the 10th and 90th
// percentile, the median CPU time (user + system, of the row's process and
// the children it waited for) and the median peak RSS, then the launcher's
// own cost: launcher - raw - bare Go start. The tool is a child subreaper:
// a row ends when every process it started is gone (bwrap itself exits
// before the kernel has torn down the sandbox's namespaces; the launcher
// waits for that before its exit audit), and their CPU time counts. The
// peak RSS is that of the row's own process, which starts as a copy of
// this tool: values near this tool's size (about 4 MiB) are a floor.
//
//	launchcost -launcher PATH -hello PATH -seccomp FILE [-runs N] [-bisect] [-guarded DIR] -- ARGS...
//
// With -guarded DIR (an XDG_CONFIG_HOME whose configuration leaves
// unix_sockets at "granted") it also times the launcher with the Unix
// socket guard, in the same rounds, and prints the guard's cost: the
// guarded launch minus the launch without it (the rounds' differences'
// median and 10th-90th percentile range).
//
// ARGS are the launcher's arguments (--no-network --shell DIR -- -c true).
// With -bisect it times the raw command again with each group of its
// options left out, to show what each group of mounts costs.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	launcher := flag.String("launcher", "", "launcher binary")
	hello := flag.String("hello", "", "a static Go program that prints one line")
	seccomp := flag.String("seccomp", "", "the seccomp program the raw command is fed")
	runs := flag.Int("runs", 60, "rounds")
	bisect := flag.Bool("bisect", false, "time the raw command with each group of options left out")
	guarded := flag.String("guarded", "", "XDG_CONFIG_HOME of a launch with the Unix socket guard, timed beside the launcher")
	var others multi
	flag.Var(&others, "compare", "another launcher binary to time beside it (repeatable)")
	flag.Parse()
	if *launcher == "" || *hello == "" || *seccomp == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "launchcost: becoming a subreaper:", err)
		os.Exit(1)
	}
	if err := run(*launcher, others, *hello, *seccomp, *guarded, *runs, *bisect, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "launchcost:", err)
		os.Exit(1)
	}
}

// row is one command timed.
type row struct {
	name string
	argv []string
	env  []string       // nil: this tool's environment
	fds  map[int]string // descriptor -> file it reads
	// temp lists paths created before each run and removed after it,
	// outside the timed window (the placeholders the launcher would hold).
	temp []placeholder
	wall []time.Duration
	cpu  []time.Duration
	rss  []int64 // KiB
}

// mapNames are the row names of the -compare launchers.
func mapNames(others []string) []string {
	var out []string
	for _, o := range others {
		out = append(out, "launcher "+filepath.Base(o))
	}
	return out
}

// placeholder is a missing source path of the raw command.
type placeholder struct {
	path string
	dir  bool
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func run(launcher string, others []string, hello, seccomp, guarded string, runs int, bisect bool, args []string) error {
	dry, err := output(append([]string{launcher, "--dry-run"}, args...))
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(dry), "\n")
	raw, err := splitWords(lines[len(lines)-1])
	if err != nil {
		return err
	}
	// One launch first creates what the raw command binds and the launcher
	// keeps (the project's state directories).
	if _, err := output(append([]string{launcher}, args...)); err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	rawRow := newRaw("raw", raw, seccomp)
	// The minimal bwrap runs the same command over the host's root.
	command := raw[slices.Index(raw, "--")+1:]
	bwrap := raw[0]
	rows := []*row{
		{name: "bare Go start", argv: []string{hello}},
		{name: "minimal bwrap", argv: append([]string{bwrap, "--ro-bind", "/", "/", "--"}, command...)},
		rawRow,
		{name: "launcher --dry-run", argv: append([]string{launcher, "--dry-run"}, args...)},
		{name: "launcher", argv: append([]string{launcher}, args...)},
	}
	for _, o := range others {
		rows = append(rows, &row{name: "launcher " + filepath.Base(o), argv: append([]string{o}, args...)})
	}
	if guarded != "" {
		env := append(slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "XDG_CONFIG_HOME=") }),
			"XDG_CONFIG_HOME="+guarded)
		rows = append(rows, &row{name: "launcher, unix_sockets granted", argv: append([]string{launcher}, args...), env: env})
		for _, o := range others {
			rows = append(rows, &row{name: "launcher " + filepath.Base(o) + ", unix_sockets granted", argv: append([]string{o}, args...), env: env})
		}
	}
	fixed := len(rows)
	if bisect {
		project := ""
		if i := slices.Index(raw, "--chdir"); i >= 0 && i+1 < len(raw) {
			project = raw[i+1]
		}
		for _, g := range groupsFor(project) {
			argv, n := without(raw, g.match)
			if n == 0 {
				continue
			}
			r := newRaw(fmt.Sprintf("raw without %s (%d options)", g.name, n), argv, seccomp)
			rows = append(rows, r)
		}
	}
	if err := measure(rows, runs); err != nil {
		return err
	}
	fmt.Printf("%-48s %9s %19s %9s %9s\n", "", "median", "p10-p90", "cpu", "peak RSS")
	for _, r := range rows {
		lo, hi := percentile(r.wall, 10), percentile(r.wall, 90)
		fmt.Printf("%-48s %9s %19s %9s %6d KiB\n", r.name, ms(median(r.wall)),
			ms(lo)+"-"+ms(hi), ms(median(r.cpu)), medianInt(r.rss))
	}
	get := func(name string) *row {
		for _, r := range rows {
			if r.name == name {
				return r
			}
		}
		return nil
	}
	l, rw, h, m := get("launcher"), rawRow, get("bare Go start"), get("minimal bwrap")
	fmt.Printf("launcher - raw: %s (cpu %s); launcher's own cost (launcher - raw - bare Go start): %s (cpu %s)\n",
		ms(median(l.wall)-median(rw.wall)), ms(median(l.cpu)-median(rw.cpu)),
		ms(median(l.wall)-median(rw.wall)-median(h.wall)), ms(median(l.cpu)-median(rw.cpu)-median(h.cpu)))
	for _, r := range rows[5:fixed] {
		fmt.Printf("%s - raw - bare Go start: %s (cpu %s)\n", r.name,
			ms(median(r.wall)-median(rw.wall)-median(h.wall)), ms(median(r.cpu)-median(rw.cpu)-median(h.cpu)))
	}
	for _, name := range append([]string{"launcher"}, mapNames(others)...) {
		g := get(name + ", unix_sockets granted")
		if g == nil {
			continue
		}
		// Rows run in the same rounds: the difference is taken round by
		// round.
		a := get(name)
		wall, cpu := make([]time.Duration, len(g.wall)), make([]time.Duration, len(g.cpu))
		for i := range wall {
			wall[i], cpu[i] = g.wall[i]-a.wall[i], g.cpu[i]-a.cpu[i]
		}
		fmt.Printf("Unix socket guard (%s: granted - all): %s (p10-p90 %s-%s), cpu %s (p10-p90 %s-%s)\n", name,
			ms(median(wall)), ms(percentile(wall, 10)), ms(percentile(wall, 90)),
			ms(median(cpu)), ms(percentile(cpu, 10)), ms(percentile(cpu, 90)))
	}
	fmt.Printf("raw / minimal bwrap: %.2fx (cpu %.2fx)\n",
		float64(median(rw.wall))/float64(median(m.wall)), float64(median(rw.cpu))/float64(median(m.cpu)))
	if bisect {
		for _, r := range rows[fixed:] {
			fmt.Printf("%-48s saves %s (cpu %s)\n", r.name, ms(median(rw.wall)-median(r.wall)), ms(median(rw.cpu)-median(r.cpu)))
		}
	}
	return nil
}

// newRaw is a row running a raw bwrap command, its descriptors fed: the
// seccomp program for --seccomp, an empty file for every other.
func newRaw(name string, argv []string, seccomp string) *row {
	r := &row{name: name, argv: argv, fds: map[int]string{}}
	for i := 0; i+1 < len(argv); i++ {
		switch argv[i] {
		case "--seccomp":
			fd, _ := strconv.Atoi(argv[i+1])
			r.fds[fd] = seccomp
		case "--file", "--ro-bind-data", "--bind-data":
			fd, _ := strconv.Atoi(argv[i+1])
			r.fds[fd] = os.DevNull
		case "--ro-bind", "--bind":
			if i+2 < len(argv) {
				src := argv[i+1]
				if _, err := os.Lstat(src); errors.Is(err, os.ErrNotExist) {
					r.temp = append(r.temp, placeholder{path: src, dir: isDirPlaceholder(src)})
				}
			}
		}
	}
	return r
}

// isDirPlaceholder reports whether the launcher's placeholder for a
// missing protected path is a directory (git's config and Claude Code's
// settings and CLAUDE.md are files).
func isDirPlaceholder(path string) bool {
	switch filepath.Base(path) {
	case "config", "commondir", "config.worktree", "CLAUDE.md", "settings.json", "settings.local.json":
		return false
	}
	return true
}

// measure runs every row once per round, in a new random order each
// round, after three rounds of warm-up.
func measure(rows []*row, runs int) error {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	for round := -3; round < runs; round++ {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			wall, cpu, rss, err := once(rows[i])
			if err != nil {
				return fmt.Errorf("%s: %w", rows[i].name, err)
			}
			if round >= 0 {
				rows[i].wall = append(rows[i].wall, wall)
				rows[i].cpu = append(rows[i].cpu, cpu)
				rows[i].rss = append(rows[i].rss, rss)
			}
		}
	}
	return nil
}

// once runs r and returns its wall time, CPU time and peak RSS.
func once(r *row) (time.Duration, time.Duration, int64, error) {
	for _, p := range r.temp {
		if p.dir {
			os.Mkdir(p.path, 0o755)
		} else {
			os.WriteFile(p.path, nil, 0o644)
		}
	}
	defer func() {
		for _, p := range r.temp {
			os.Remove(p.path)
		}
	}()
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Env = r.env
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, 0, 0, err
	}
	defer null.Close()
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, nil, &stderr
	for fd, path := range r.fds {
		f, err := os.Open(path)
		if err != nil {
			return 0, 0, 0, err
		}
		defer f.Close()
		for len(cmd.ExtraFiles) <= fd-3 {
			cmd.ExtraFiles = append(cmd.ExtraFiles, nil)
		}
		cmd.ExtraFiles[fd-3] = f
	}
	start := time.Now()
	err = cmd.Run()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// A process the row left (bwrap exits before the sandbox's first
	// process is gone) is reparented to this one, a subreaper: the row
	// ends when the last is reaped, and their CPU time counts.
	for {
		var orphan syscall.Rusage
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, &orphan); err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			break
		}
		cpu += time.Duration(orphan.Utime.Nano() + orphan.Stime.Nano())
	}
	return time.Since(start), cpu, ru.Maxrss, nil
}

// group is a class of options of the raw command, for -bisect.
type group struct {
	name  string
	match func(opt string, args []string) bool // args: the option's arguments
}

// arity is how many arguments each bwrap option takes.
var arity = map[string]int{
	"--ro-bind": 2, "--bind": 2, "--ro-bind-try": 2, "--bind-try": 2, "--dev-bind": 2, "--dev-bind-try": 2,
	"--symlink": 2, "--file": 2, "--ro-bind-data": 2, "--bind-data": 2,
	"--dir": 1, "--tmpfs": 1, "--proc": 1, "--dev": 1, "--perms": 1, "--seccomp": 1, "--chdir": 1,
	"--uid": 1, "--gid": 1, "--hostname": 1, "--cap-drop": 1, "--cap-add": 1, "--setenv": 2, "--unsetenv": 1,
	"--remount-ro": 1, "--size": 1, "--chmod": 2, "--userns": 1, "--pidns": 1, "--info-fd": 1, "--block-fd": 1,
	"--sync-fd": 1, "--json-status-fd": 1, "--args": 1, "--mqueue": 1, "--overlay-src": 1, "--tmp-overlay": 1,
	"--ro-overlay": 1, "--overlay": 3, "--exec-label": 1, "--file-label": 1, "--lock-file": 1, "--add-seccomp-fd": 1,
}

func isMount(opt string) bool {
	switch opt {
	case "--ro-bind", "--bind", "--ro-bind-try", "--bind-try", "--dev-bind", "--dev-bind-try":
		return true
	}
	return false
}

// groupsFor lists the classes -bisect leaves out, one at a time, for a
// raw command whose project dir is project.
func groupsFor(project string) []group {
	return []group{
		{"/etc binds", func(o string, a []string) bool { return isMount(o) && strings.HasPrefix(a[1], "/etc/") }},
		{"generated /etc files", func(o string, a []string) bool { return o == "--file" && strings.HasPrefix(a[1], "/etc/") }},
		{"home binds", func(o string, a []string) bool {
			return (isMount(o) || o == "--ro-bind-data" || o == "--symlink") && !strings.HasPrefix(a[1], project+"/") &&
				(strings.HasPrefix(a[1], "/home/") || strings.HasPrefix(a[1], "/root/"))
		}},
		{"protected project paths", func(o string, a []string) bool {
			return o == "--ro-bind" && strings.HasPrefix(a[1], project+"/")
		}},
		{"/opt /nix binds", func(o string, a []string) bool {
			return isMount(o) && (a[1] == "/opt" || strings.HasPrefix(a[1], "/nix/"))
		}},
		{"seccomp", func(o string, _ []string) bool { return o == "--seccomp" }},
		{"--proc", func(o string, _ []string) bool { return o == "--proc" }},
		{"--dev", func(o string, _ []string) bool { return o == "--dev" }},
		{"tmpfs", func(o string, _ []string) bool { return o == "--tmpfs" }},
		{"--disable-userns", func(o string, _ []string) bool { return o == "--disable-userns" }},
		{"the network namespace", func(o string, _ []string) bool { return o == "--unshare-all" }},
		{"--new-session", func(o string, _ []string) bool { return o == "--new-session" }},
		{"--die-with-parent", func(o string, _ []string) bool { return o == "--die-with-parent" }},
	}
}

// without returns argv with the options match selects left out (and a
// --perms right before one of them), and how many it left out.
func without(argv []string, match func(string, []string) bool) ([]string, int) {
	out := []string{argv[0]}
	n := 0
	var perms []string
	for i := 1; i < len(argv); i++ {
		opt := argv[i]
		if opt == "--" {
			out = append(out, perms...)
			out = append(out, argv[i:]...)
			break
		}
		k := arity[opt]
		if i+k >= len(argv) {
			k = len(argv) - 1 - i
		}
		words := argv[i : i+1+k]
		i += k
		if opt == "--perms" {
			perms = words
			continue
		}
		if match(opt, words[1:]) {
			n++
			perms = nil
			if opt == "--unshare-all" {
				// Every namespace but the network's.
				out = append(out, "--unshare-user-try", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try")
			}
			continue
		}
		out = append(out, perms...)
		out = append(out, words...)
		perms = nil
	}
	return out, n
}

// splitWords splits a line of shell words quoted as the launcher quotes
// them: bare words and '...' (with '\” for a quote), separated by spaces.
func splitWords(line string) ([]string, error) {
	var out []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ':
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", line)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '\\' && i+1 < len(line):
			w.WriteByte(line[i+1])
			i++
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, w.String())
	}
	return out, nil
}

// output runs argv and returns its standard output.
func output(argv []string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }
