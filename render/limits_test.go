package render

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

func TestLimitsMechanisms(t *testing.T) {
	l := profile.Limits{Processes: 100, MemoryMiB: 512, MilliCPUs: 1500, OpenFiles: 1024, FileSizeMiB: 64, DiskMiB: 256}
	cases := []struct {
		name    string
		host    func(h *Host)
		backend profile.Backend
		cgroup  CgroupLimits
		rlimits []Rlimit
		how     map[string]string // substrings
	}{
		{"cgroup v1 as root", func(h *Host) {
			h.UID, h.Cgroup, h.CgroupControllers = 0, "v1", []string{"pids", "memory", "cpu"}
		}, profile.Bubblewrap,
			CgroupLimits{Pids: 100, MemoryBytes: 512 << 20, CPUQuotaMicros: 150000, CPUPeriodMicros: 100000},
			[]Rlimit{{"NOFILE", 1024}, {"FSIZE", 64 << 20}},
			map[string]string{"processes": "cgroup v1 pids.max", "memory": "cgroup v1 memory.max", "cpus": "cgroup v1 cpu.max",
				"open_files": "RLIMIT_NOFILE", "file_size": "RLIMIT_FSIZE", "disk": "not applicable"}},
		{"delegated v2 without cpu", func(h *Host) {
			h.Cgroup, h.CgroupControllers, h.CgroupDelegated = "v2", []string{"pids", "memory"}, true
		}, profile.Bubblewrap,
			CgroupLimits{Pids: 100, MemoryBytes: 512 << 20},
			[]Rlimit{{"NOFILE", 1024}, {"FSIZE", 64 << 20}},
			map[string]string{"processes": "cgroup v2 (delegated) pids.max", "cpus": "not enforced"}},
		{"rlimits only", func(h *Host) { h.UserTasks = 37 }, profile.Bubblewrap,
			CgroupLimits{},
			[]Rlimit{{"NPROC", 137}, {"DATA", 512 << 20}, {"NOFILE", 1024}, {"FSIZE", 64 << 20}},
			map[string]string{"processes": "RLIMIT_NPROC 137: the limit plus the 37", "memory": "RLIMIT_DATA", "cpus": "not enforced"}},
		{"root without cgroup", func(h *Host) { h.UID = 0 }, profile.Bubblewrap,
			CgroupLimits{},
			[]Rlimit{{"DATA", 512 << 20}, {"NOFILE", 1024}, {"FSIZE", 64 << 20}},
			map[string]string{"processes": "not enforced: no writable cgroup with the pids controller, and root is exempt"}},
		{"container", func(h *Host) { h.Cgroup, h.CgroupControllers = "v1", []string{"pids", "memory", "cpu"} }, profile.Container,
			CgroupLimits{Pids: 100, MemoryBytes: 512 << 20, CPUQuotaMicros: 150000, CPUPeriodMicros: 100000},
			[]Rlimit{{"NOFILE", 1024}, {"FSIZE", 64 << 20}},
			map[string]string{"disk": "tmpfs holding the container's root"}},
		{"vm", func(h *Host) {}, profile.VM,
			CgroupLimits{Pids: 100, MemoryBytes: 512 << 20, CPUQuotaMicros: 150000, CPUPeriodMicros: 100000},
			[]Rlimit{{"NOFILE", 1024}, {"FSIZE", 64 << 20}},
			map[string]string{"processes": "in the guest", "memory": "qemu -m", "disk": "tmpfs in the guest"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := debianHost()
			c.host(h)
			p := defaultPolicy(t, "/home/alice/proj")
			p.Limits = l
			lp := Limits(p, h, c.backend)
			if lp.Cgroup != c.cgroup {
				t.Errorf("cgroup %+v, want %+v", lp.Cgroup, c.cgroup)
			}
			if !reflect.DeepEqual(lp.Rlimits, c.rlimits) {
				t.Errorf("rlimits %v, want %v", lp.Rlimits, c.rlimits)
			}
			if len(lp.Mechanisms) != 6 {
				t.Fatalf("%d mechanisms, want one per [limits] key", len(lp.Mechanisms))
			}
			for _, m := range lp.Mechanisms {
				if want, ok := c.how[m.Key]; ok && !strings.Contains(m.How, want) {
					t.Errorf("%s: %q, want it to contain %q", m.Key, m.How, want)
				}
			}
		})
	}
}

func TestLimitsUnlimited(t *testing.T) {
	h := debianHost()
	h.Cgroup, h.CgroupControllers = "v2", []string{"pids", "memory", "cpu"}
	p := defaultPolicy(t, "/home/alice/proj")
	p.Limits = profile.Limits{}
	lp := Limits(p, h, profile.Bubblewrap)
	if !lp.Cgroup.Empty() || len(lp.Rlimits) != 0 {
		t.Errorf("no limits gave cgroup %+v rlimits %v", lp.Cgroup, lp.Rlimits)
	}
	for _, m := range lp.Mechanisms {
		if m.How != "unlimited" {
			t.Errorf("%s: %q, want unlimited", m.Key, m.How)
		}
	}
}

func TestQEMULimitsBoundTheMachine(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	p.VM.MemoryMiB, p.VM.CPUs = 4096, 4
	p.Limits.MemoryMiB, p.Limits.MilliCPUs = 1024, 1500
	plan, err := QEMU(p, qemuHost(debianHost)())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(plan.Argv, "-m")
	j := slices.Index(plan.Argv, "-smp")
	if i < 0 || plan.Argv[i+1] != "1152" || j < 0 || plan.Argv[j+1] != "2" {
		t.Errorf("argv %q: want -m 1152 (the limit and the guest kernel's share) -smp 2", plan.Argv)
	}
}
