package limits

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/claude-sandbox/claude-sandbox/render"
	"golang.org/x/sys/unix"
)

// HelperName is the launcher's helper mode that sets rlimits on itself
// and executes the sandbox: a child's hard limits can only be lowered
// from inside it, between fork and exec.
const HelperName = "claude-sandbox-rlimits"

var resources = map[string]int{
	"NPROC":  unix.RLIMIT_NPROC,
	"DATA":   unix.RLIMIT_DATA,
	"NOFILE": unix.RLIMIT_NOFILE,
	"FSIZE":  unix.RLIMIT_FSIZE,
}

// SetSelf sets rl, soft and hard, on the calling process, as before it
// replaces itself with the sandbox. A limit the process already has
// lower stays.
func SetSelf(rl []render.Rlimit) error {
	for _, r := range rl {
		res, ok := resources[r.Name]
		if !ok {
			return fmt.Errorf("unknown rlimit %s", r.Name)
		}
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(res, &cur); err != nil {
			return fmt.Errorf("RLIMIT_%s: %w", r.Name, err)
		}
		v := min(r.Value, cur.Max)
		if err := syscall.Setrlimit(res, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("setting RLIMIT_%s to %d: %w", r.Name, v, err)
		}
	}
	return nil
}

// SetOn sets rl, soft and hard, on the process pid (a child the caller
// started and holds before it runs anything of its own), as SetSelf
// would inside it: a limit the process already has lower stays.
func SetOn(pid int, rl []render.Rlimit) error {
	for _, r := range rl {
		res, ok := resources[r.Name]
		if !ok {
			return fmt.Errorf("unknown rlimit %s", r.Name)
		}
		var cur unix.Rlimit
		if err := unix.Prlimit(pid, res, nil, &cur); err != nil {
			return fmt.Errorf("RLIMIT_%s of process %d: %w", r.Name, pid, err)
		}
		v := min(r.Value, cur.Max)
		if err := unix.Prlimit(pid, res, &unix.Rlimit{Cur: v, Max: v}, nil); err != nil {
			return fmt.Errorf("setting RLIMIT_%s of process %d to %d: %w", r.Name, pid, v, err)
		}
	}
	return nil
}

// WrapCmd makes cmd start through the launcher's rlimit helper (self is
// the launcher's executable), which sets rl and then executes the
// original program with the original arguments, environment and
// descriptors, in the same process. Call it before Start.
func WrapCmd(cmd *exec.Cmd, self string, rl []render.Rlimit) {
	if len(rl) == 0 {
		return
	}
	args := append([]string{HelperName}, Format(rl)...)
	args = append(args, "--", cmd.Path)
	cmd.Args = append(args, cmd.Args...)
	cmd.Path = self
	// exec.Command may have recorded a lookup error for the original
	// program; the helper reports a missing program itself.
	cmd.Err = nil
}

// Format writes rl as NAME=VALUE words, as helpers take them (see Parse).
func Format(rl []render.Rlimit) []string {
	out := make([]string, 0, len(rl))
	for _, r := range rl {
		out = append(out, r.Name+"="+strconv.FormatUint(r.Value, 10))
	}
	return out
}

// Parse reads one NAME=VALUE word written by Format.
func Parse(word string) (render.Rlimit, error) {
	name, val, ok := strings.Cut(word, "=")
	n, err := strconv.ParseUint(val, 10, 64)
	if _, known := resources[name]; !ok || err != nil || !known {
		return render.Rlimit{}, fmt.Errorf("bad rlimit %q", word)
	}
	return render.Rlimit{Name: name, Value: n}, nil
}

// HelperMain is the rlimit helper: args are HelperName NAME=VALUE... --
// PATH ARGV0 ARGS...
func HelperMain(args []string) int {
	var rl []render.Rlimit
	i := 1
	for ; i < len(args) && args[i] != "--"; i++ {
		r, err := Parse(args[i])
		if err != nil {
			fmt.Fprintf(os.Stderr, "claude-sandbox: %v\n", err)
			return 125
		}
		rl = append(rl, r)
	}
	if i+2 >= len(args) {
		fmt.Fprintln(os.Stderr, "claude-sandbox: rlimit helper: no program")
		return 125
	}
	if err := SetSelf(rl); err != nil {
		fmt.Fprintf(os.Stderr, "claude-sandbox: %v\n", err)
		return 125
	}
	path, argv := args[i+1], args[i+2:]
	err := unix.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "claude-sandbox: exec %s: %v\n", path, err)
	return 125
}
