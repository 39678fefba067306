package profile

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits are the resource limits of a run. A zero field means unlimited.
// Sizes are in MiB; CPUs are in thousandths of a core, so 1.5 cores is
// 1500.
type Limits struct {
	// Processes caps the processes and threads the sandbox may run at once.
	Processes int64 `json:"processes,omitempty"`
	// MemoryMiB caps the memory the sandbox may use.
	MemoryMiB int64 `json:"memory_mib,omitempty"`
	// MilliCPUs caps the CPU time per wall-clock time, in thousandths of a core.
	MilliCPUs int64 `json:"millicpus,omitempty"`
	// OpenFiles caps the open files of each process.
	OpenFiles int64 `json:"open_files,omitempty"`
	// FileSizeMiB caps the size of any file a process writes.
	FileSizeMiB int64 `json:"file_size_mib,omitempty"`
	// DiskMiB caps the writable layers the container and vm backends
	// create for a run (the container's root, the guest's tmpfs mounts).
	DiskMiB int64 `json:"disk_mib,omitempty"`
}

// Unlimited is how a layer file removes a limit.
const Unlimited = "unlimited"

// limitKind says how a [limits] key is written and checked.
type limitKind int

const (
	limitCount limitKind = iota
	limitSize
	limitCPUs
)

// limitKey ties a [limits] key to its field in Limits.
type limitKey struct {
	Key   string
	Kind  limitKind
	Min   int64
	Max   int64
	Field func(*Limits) *int64
	// Doc says what the limit bounds.
	Doc string
}

// limitKeys lists every [limits] key, in the order of Limits' fields.
var limitKeys = []limitKey{
	{"processes", limitCount, 16, 4 << 20, func(l *Limits) *int64 { return &l.Processes }, "processes and threads running at once"},
	{"memory", limitSize, 64, 1 << 20, func(l *Limits) *int64 { return &l.MemoryMiB }, "memory"},
	{"cpus", limitCPUs, 10, 1024 * 1000, func(l *Limits) *int64 { return &l.MilliCPUs }, "CPU cores"},
	{"open_files", limitCount, 64, 1 << 20, func(l *Limits) *int64 { return &l.OpenFiles }, "open files per process"},
	{"file_size", limitSize, 1, 1 << 20, func(l *Limits) *int64 { return &l.FileSizeMiB }, "size of a written file"},
	{"disk", limitSize, 64, 1 << 20, func(l *Limits) *int64 { return &l.DiskMiB }, "writable layers of the container and vm"},
}

func limitKeyNames() []string {
	out := make([]string, len(limitKeys))
	for i, k := range limitKeys {
		out[i] = k.Key
	}
	return out
}

// parse reads one limit's TOML value: "unlimited" gives 0.
func (k limitKey) parse(v any) (int64, error) {
	if s, ok := v.(string); ok && s == Unlimited {
		return 0, nil
	}
	var n int64
	switch k.Kind {
	case limitCount:
		x, ok := v.(int64)
		if !ok {
			return 0, fmt.Errorf("want a number or %q, got %s", Unlimited, describe(v))
		}
		n = x
	case limitCPUs:
		switch x := v.(type) {
		case int64:
			if x > math.MaxInt64/1000 {
				return 0, fmt.Errorf("%d cpus is out of range", x)
			}
			n = x * 1000
		case float64:
			if math.IsNaN(x) || x > float64(k.Max)/1000 || x <= 0 {
				return 0, fmt.Errorf("%v cpus is out of range (0.01-%d)", x, k.Max/1000)
			}
			n = int64(math.Round(x * 1000))
		default:
			return 0, fmt.Errorf("want a number of cores (2, 1.5) or %q, got %s", Unlimited, describe(v))
		}
		if n < k.Min || n > k.Max {
			return 0, fmt.Errorf("%s cpus is out of range (0.01-%d)", FormatMilliCPUs(n), k.Max/1000)
		}
		return n, nil
	case limitSize:
		x, err := parseSizeMiB(v)
		if err != nil {
			return 0, err
		}
		n = x
		if n < k.Min || n > k.Max {
			return 0, fmt.Errorf("%s is out of range (%s-%s)", FormatMemory(int(n)), FormatMemory(int(k.Min)), FormatMemory(int(k.Max)))
		}
		return n, nil
	}
	if n < k.Min || n > k.Max {
		return 0, fmt.Errorf("%d is out of range (%d-%d, or %q)", n, k.Min, k.Max, Unlimited)
	}
	return n, nil
}

// parseSizeMiB reads a size: a string with a unit ("8G", "512M",
// "512MiB", "1T") or an integer number of MiB.
func parseSizeMiB(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case string:
		n, err := sizeInMiB(x, math.MaxInt32)
		switch err {
		case nil:
			return n, nil
		case errNotSize:
			return 0, fmt.Errorf("%q is not a size such as \"8G\" or \"512M\" (or %q)", x, Unlimited)
		case errSizeUnit:
			return 0, fmt.Errorf("size %q has an unknown unit (use M, G or T)", x)
		}
		return 0, fmt.Errorf("size %q is too large", x)
	}
	return 0, fmt.Errorf("want a size such as \"8G\" or %q, got %s", Unlimited, describe(v))
}

// Why sizeInMiB refused a size.
var (
	errNotSize   = errors.New("not a size")
	errSizeUnit  = errors.New("unknown unit")
	errSizeLarge = errors.New("too large")
)

// sizeInMiB reads a size with an optional unit ("8G", "512M", "512MiB",
// "1T"; no unit means MiB) and returns it in MiB, at most max.
func sizeInMiB(x string, max int64) (int64, error) {
	s := strings.TrimSpace(x)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || i == 0 {
		return 0, errNotSize
	}
	var mult int64
	switch strings.ToUpper(strings.TrimSpace(s[i:])) {
	case "", "M", "MB", "MIB":
		mult = 1
	case "G", "GB", "GIB":
		mult = 1024
	case "T", "TB", "TIB":
		mult = 1024 * 1024
	default:
		return 0, errSizeUnit
	}
	if n > max/mult {
		return 0, errSizeLarge
	}
	return n * mult, nil
}

// FormatMilliCPUs prints thousandths of a core as a number of cores
// ("2", "1.5").
func FormatMilliCPUs(m int64) string {
	return strconv.FormatFloat(float64(m)/1000, 'f', -1, 64)
}

// value is a limit as explain shows it: the schema's spelling.
func (k limitKey) value(n int64) any {
	if n == 0 {
		return Unlimited
	}
	switch k.Kind {
	case limitSize:
		return FormatMemory(int(n))
	case limitCPUs:
		if n%1000 == 0 {
			return int(n / 1000)
		}
		return float64(n) / 1000
	}
	return int(n)
}

// looser reports whether limit a allows more than limit b (0 is unlimited).
func looser(a, b int64) bool {
	switch {
	case a == b:
		return false
	case a == 0:
		return true
	case b == 0:
		return false
	}
	return a > b
}

// LimitSettings lists each limit of l with its dotted key and its value
// in the schema's spelling, in schema order.
func LimitSettings(l Limits) []Setting {
	out := make([]Setting, len(limitKeys))
	for i, k := range limitKeys {
		out[i] = Setting{Key: "limits." + k.Key, Value: k.value(*k.Field(&l))}
	}
	return out
}
