// Command vmfloor compares the vm backend's boot to exit with the floor
// of the same machine: the same kernel, machine type, accelerator, CPU
// count and memory booting a bare static /init that only powers off.
// Both are timed alternately in one run, so a busy machine slows both
// alike, and the medians and their ratio are printed.
//
//	go run ./bench/vmfloor -launcher PATH [-compare PATH] [-runs N] [-- launcher args]
//
// With -compare, a second launcher (an older build, say) is timed in the
// same rounds.
// The launcher runs `--backend=vm --no-network --shell DIR -- -c true`
// unless other arguments follow "--"; its vm settings come from the
// configuration the environment points at (bench/vmfloor.sh writes one
// with 1 GiB and 1 CPU, matching -memory and -cpus here). The bare /init
// is this program itself: as PID 1 it powers the machine off.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/claude-sandbox/claude-sandbox/backends/vmimage"
	"golang.org/x/sys/unix"
)

func main() {
	if os.Getpid() == 1 {
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vmfloor:", err)
		os.Exit(1)
	}
}

func run() error {
	launcher := flag.String("launcher", "", "the launcher to time")
	compare := flag.String("compare", "", "a second launcher to time in the same rounds")
	runs := flag.Int("runs", 5, "timed runs of each")
	memory := flag.Int("memory", 1024, "guest memory in MiB, as the launcher's vm.memory")
	cpus := flag.Int("cpus", 1, "guest CPUs, as the launcher's vm.cpus")
	machine := flag.String("machine", "q35", "QEMU machine type, as the launcher's vm.machine")
	flag.Parse()
	if *launcher == "" {
		return fmt.Errorf("-launcher is required")
	}
	work, err := os.MkdirTemp("", "vmfloor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	proj := filepath.Join(work, "proj")
	if err := os.Mkdir(proj, 0o755); err != nil {
		return err
	}
	args := flag.Args()
	if len(args) == 0 {
		args = []string{"--backend=vm", "--no-network", "--shell", proj, "--", "-c", "true"}
	}
	launchWith := func(l string) func() error {
		return func() error {
			cmd := exec.Command(l, args...)
			cmd.Dir = proj
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("launcher %s: %v: %s", l, err, stderr.Bytes())
			}
			return nil
		}
	}
	launch := launchWith(*launcher)
	// The first launch fills the boot-file cache; the floor boots the
	// same cached vmlinux.
	if err := launch(); err != nil {
		return err
	}
	k, err := vmimage.FindKernel("/boot", "/lib/modules", "")
	if err != nil {
		return err
	}
	cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "claude-sandbox", "vm")
	if os.Getenv("XDG_CACHE_HOME") == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "claude-sandbox", "vm")
	}
	img, err := vmimage.Paths(cache, k, *launcher)
	if err != nil {
		return err
	}
	if !img.Cached {
		return fmt.Errorf("no cached boot files in %s (does the launcher see the same XDG_CACHE_HOME?)", cache)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	init, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	var cpio bytes.Buffer
	if err := vmimage.WriteInitramfs(&cpio, init, nil); err != nil {
		return err
	}
	initrd := filepath.Join(work, "bare.cpio")
	if err := os.WriteFile(initrd, cpio.Bytes(), 0o644); err != nil {
		return err
	}
	floor := func() error {
		cmd := exec.Command("qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot",
			"-machine", *machine+",accel=tcg", "-cpu", "max",
			"-m", fmt.Sprint(*memory), "-smp", fmt.Sprint(*cpus),
			"-kernel", img.Kernel, "-initrd", initrd,
			"-append", "console=ttyS0 quiet loglevel=0 panic=-1 rdinit=/init",
			"-display", "none", "-serial", "none")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("bare boot: %v: %s", err, out)
		}
		return nil
	}
	if err := floor(); err != nil {
		return err
	}
	type timed struct {
		f   func() error
		out *[]time.Duration
	}
	var tl, tf, tc []time.Duration
	round := []timed{{launch, &tl}, {floor, &tf}}
	if *compare != "" {
		if err := launchWith(*compare)(); err != nil {
			return err
		}
		round = append(round, timed{launchWith(*compare), &tc})
	}
	for i := 0; i < *runs; i++ {
		for _, c := range round {
			start := time.Now()
			if err := c.f(); err != nil {
				return err
			}
			*c.out = append(*c.out, time.Since(start))
		}
	}
	ml, mf := median(tl), median(tf)
	fmt.Printf("vm boot to exit (warm cache): launcher median %.2f s (min %.2f, max %.2f); bare /init floor median %.2f s (min %.2f, max %.2f); ratio %.2fx; n=%d\n",
		ml.Seconds(), minOf(tl).Seconds(), maxOf(tl).Seconds(), mf.Seconds(), minOf(tf).Seconds(), maxOf(tf).Seconds(),
		ml.Seconds()/mf.Seconds(), *runs)
	if *compare != "" {
		mc := median(tc)
		fmt.Printf("compared launcher %s: median %.2f s (min %.2f, max %.2f); ratio to the floor %.2fx\n",
			*compare, mc.Seconds(), minOf(tc).Seconds(), maxOf(tc).Seconds(), mc.Seconds()/mf.Seconds())
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxOf(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
