package profile

import (
	"slices"
	"strings"
)

// Decoders of the schema's tables: [egress], [protect], [forward], [env],
// [mounts], [vm], [container], [oci] and [limits].

func (d *decoder) egress(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		switch k {
		case "allow", "deny":
			list, ok := d.strList(kp, tbl[k])
			if !ok {
				continue
			}
			out := make([]string, 0, len(list))
			good := true
			for i, p := range list {
				norm, err := domainPattern(p)
				if err != nil {
					d.ps.add(d.file, max(d.ix.elemLine(kp, i), 1), displayKey(kp), "", "%v", err)
					good = false
					continue
				}
				out = append(out, norm)
			}
			if good {
				d.put(s, "egress."+k, kp, out)
			}
		case "localhost_ports":
			arr, ok := tbl[k].([]any)
			if !ok {
				d.typeErr(kp, "a list of port numbers", tbl[k])
				continue
			}
			ports := make([]int, 0, len(arr))
			good := true
			for _, e := range arr {
				n, ok := e.(int64)
				if !ok || n < 1 || n > 65535 {
					d.problem(kp, "", "%s is not a port number (1-65535)", describe(e))
					good = false
					continue
				}
				ports = append(ports, int(n))
			}
			if good {
				d.put(s, "egress.localhost_ports", kp, ports)
			}
		default:
			d.unknown(kp, egressKeys)
		}
	}
}

func (d *decoder) protect(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		b, ok := d.boolean(kp, tbl[k])
		if !ok {
			continue
		}
		rel, err := projectRelative(k)
		if err != nil {
			d.problem(kp, "", "%v", err)
			continue
		}
		d.put(s, "protect."+rel, kp, b)
	}
}

func (d *decoder) forward(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	valid := forwardKeys()
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		known := false
		for _, f := range valid {
			known = known || f == k
		}
		if !known {
			d.unknown(kp, valid)
			continue
		}
		if b, ok := d.boolean(kp, tbl[k]); ok {
			d.put(s, "forward."+k, kp, b)
		}
	}
}

func (d *decoder) dbus(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		switch k {
		case "filter":
			if b, ok := d.boolean(kp, tbl[k]); ok {
				d.put(s, "dbus.filter", kp, b)
			}
		case "talk", "own", "see":
			d.checkedList(s, "dbus."+k, kp, tbl[k], validBusName, "invalid D-Bus name %q (a well-known name such as org.freedesktop.Notifications, optionally ending in .*)")
		default:
			d.unknown(kp, dbusKeys)
		}
	}
}

func (d *decoder) envTable(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		switch k {
		case "pass":
			d.checkedList(s, "env.pass", kp, tbl[k], validEnvName, "invalid variable name %q")
		case "set":
			set, ok := d.table(kp, tbl[k])
			if !ok {
				continue
			}
			for _, n := range sortedKeys(set) {
				np := at(kp, n)
				if !validEnvName(n) {
					d.problem(np, "", "invalid variable name %q", n)
					continue
				}
				str, ok := d.str(np, set[n])
				if !ok {
					continue
				}
				if strings.ContainsRune(str, 0) {
					d.problem(np, "", "value contains a NUL byte")
					continue
				}
				d.put(s, "env.set."+n, np, str)
			}
		default:
			d.unknown(kp, envKeys)
		}
	}
}

func (d *decoder) mounts(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		src, err := expandPath(k, d.kind, d.env)
		if err != nil {
			d.problem(kp, "", "%v", err)
			continue
		}
		m := Mount{Source: src, Target: src}
		switch x := tbl[k].(type) {
		case string:
			if err := m.Mode.UnmarshalText([]byte(x)); err != nil {
				d.problem(kp, "", "%v", err)
				continue
			}
		case map[string]any:
			good := true
			sawMode := false
			for _, f := range sortedKeys(x) {
				fp := at(kp, f)
				switch f {
				case "mode":
					str, ok := d.str(fp, x[f])
					if !ok {
						good = false
						continue
					}
					if err := m.Mode.UnmarshalText([]byte(str)); err != nil {
						d.problem(fp, "", "%v", err)
						good = false
					}
					sawMode = true
				case "target":
					str, ok := d.str(fp, x[f])
					if !ok {
						good = false
						continue
					}
					t, err := expandPath(str, d.kind, d.env)
					if err != nil {
						d.problem(fp, "", "%v", err)
						good = false
						continue
					}
					m.Target = t
				case "optional":
					b, ok := d.boolean(fp, x[f])
					if !ok {
						good = false
					}
					m.Optional = b
				default:
					d.unknown(fp, mountKeys)
					good = false
				}
			}
			if !sawMode && good {
				d.problem(kp, "", "mount needs a mode (rw, ro, tmpfs or hide)")
				good = false
			}
			if !good {
				continue
			}
		default:
			d.typeErr(kp, `a mode ("rw", "ro", "tmpfs", "hide") or a table { mode, target, optional }`, tbl[k])
			continue
		}
		if m.Mode == MountTmpfs || m.Mode == MountHide {
			if m.Target != src {
				d.problem(kp, "", "a %s mount takes no target: its key is the path it covers", m.Mode)
				continue
			}
			m.Source = ""
		}
		if m.Target == "/" {
			d.problem(kp, "", "cannot mount over /")
			continue
		}
		d.put(s, "mounts."+src, kp, m)
	}
}

func (d *decoder) vm(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		val := tbl[k]
		key := "vm." + k
		switch k {
		case "flavour":
			d.checkedStr(s, key, kp, val, func(str string) bool { return str == "host" || str == "nix" },
				"unknown vm flavour %q (want one of host, nix)")
		case "accel":
			d.checkedStr(s, key, kp, val, func(str string) bool { return str == "auto" || str == "kvm" || str == "tcg" },
				"unknown accelerator %q (want one of auto, kvm, tcg)")
		case "machine":
			d.checkedStr(s, key, kp, val, func(str string) bool { return validToken(str, 64) },
				"invalid machine type %q (letters, digits, '.', '_' and '-')")
		case "memory":
			mib, err := parseMemory(val)
			if err != nil {
				d.problem(kp, "", "%v", err)
			} else {
				d.put(s, key, kp, mib)
			}
		case "cpus":
			n, ok := val.(int64)
			if !ok {
				d.typeErr(kp, "an integer", val)
			} else if n < 1 || n > 256 {
				d.problem(kp, "", "%d CPUs is out of range (1-256)", n)
			} else {
				d.put(s, key, kp, int(n))
			}
		case "kernel", "initrd", "system":
			d.pathStr(s, key, kp, val)
		case "display":
			if b, ok := d.boolean(kp, val); ok {
				d.put(s, key, kp, b)
			}
		default:
			d.unknown(kp, vmKeys)
		}
	}
}

func (d *decoder) container(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		val := tbl[k]
		switch k {
		case "root":
			d.pathStr(s, "container.root", kp, val)
		case "machine_prefix":
			d.checkedStr(s, "container.machine_prefix", kp, val, validMachinePrefix,
				"invalid machine name prefix %q (lower-case letters, digits and '-', at most 32 characters)")
		default:
			d.unknown(kp, containerKeys)
		}
	}
}

func (d *decoder) oci(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		val := tbl[k]
		switch k {
		case "runtime":
			d.checkedStr(s, "oci.runtime", kp, val, func(str string) bool { return slices.Contains(OCIRuntimes, str) },
				"invalid OCI runtime %q (one of %s)", strings.Join(OCIRuntimes, ", "))
		case "runtime_class":
			d.checkedStr(s, "oci.runtime_class", kp, val, func(str string) bool { return str == "" || validMachinePrefix(str) },
				"invalid runtime class name %q (lower-case letters, digits and '-')")
		default:
			d.unknown(kp, ociKeys)
		}
	}
}

func (d *decoder) limits(path []string, v any, s settings) {
	tbl, ok := d.table(path, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(tbl) {
		kp := at(path, k)
		var lk *limitKey
		for i := range limitKeys {
			if limitKeys[i].Key == k {
				lk = &limitKeys[i]
			}
		}
		if lk == nil {
			d.unknown(kp, limitKeyNames())
			continue
		}
		n, err := lk.parse(tbl[k])
		if err != nil {
			d.problem(kp, "", "%v", err)
			continue
		}
		d.put(s, "limits."+k, kp, n)
	}
}

// checkedStr puts the string val at key when valid accepts it, and
// otherwise reports it with format, whose first verb takes the string and
// the others args.
func (d *decoder) checkedStr(s settings, key string, kp []string, val any, valid func(string) bool, format string, args ...any) {
	str, ok := d.str(kp, val)
	if !ok {
		return
	}
	if !valid(str) {
		d.problem(kp, "", format, append([]any{str}, args...)...)
		return
	}
	d.put(s, key, kp, str)
}

// checkedList puts the list of strings val at key when valid accepts
// every element, and otherwise reports each element it refuses with
// format, whose one verb takes the element.
func (d *decoder) checkedList(s settings, key string, kp []string, val any, valid func(string) bool, format string) {
	list, ok := d.strList(kp, val)
	if !ok {
		return
	}
	good := true
	for _, n := range list {
		if !valid(n) {
			d.problem(kp, "", format, n)
			good = false
		}
	}
	if good {
		d.put(s, key, kp, list)
	}
}

// pathStr puts the path val at key, expanded; an empty string stays
// empty (no path).
func (d *decoder) pathStr(s settings, key string, kp []string, val any) {
	str, ok := d.str(kp, val)
	if !ok {
		return
	}
	if str == "" {
		d.put(s, key, kp, "")
		return
	}
	p, err := expandPath(str, d.kind, d.env)
	if err != nil {
		d.problem(kp, "", "%v", err)
		return
	}
	d.put(s, key, kp, p)
}
