package profile

import (
	"fmt"
	"strings"
)

// Backend names a sandbox backend.
type Backend string

// The backends.
const (
	Bubblewrap Backend = "bubblewrap"
	Container  Backend = "container"
	VM         Backend = "vm"
	OCI        Backend = "oci"
)

// Backends lists every backend in a stable order.
var Backends = []Backend{Bubblewrap, Container, VM, OCI}

// UnmarshalText accepts a backend name.
func (b *Backend) UnmarshalText(text []byte) error {
	v, err := parseEnum(string(text), "backend", Backends)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String returns the backend name.
func (b Backend) String() string { return string(b) }

// NetworkMode is the network policy mode.
type NetworkMode string

// The network modes, from most to least restrictive.
const (
	NetworkOff       NetworkMode = "off"
	NetworkAllowlist NetworkMode = "allowlist"
	NetworkFull      NetworkMode = "full"
	NetworkHost      NetworkMode = "host"
)

// NetworkModes lists every mode from most to least restrictive.
var NetworkModes = []NetworkMode{NetworkOff, NetworkAllowlist, NetworkFull, NetworkHost}

// UnmarshalText accepts a mode name, or "true" (full) and "false" (off).
func (m *NetworkMode) UnmarshalText(text []byte) error {
	switch string(text) {
	case "true":
		*m = NetworkFull
		return nil
	case "false":
		*m = NetworkOff
		return nil
	}
	v, err := parseEnum(string(text), "network mode", NetworkModes)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String returns the mode name.
func (m NetworkMode) String() string { return string(m) }

// Rank orders modes by how much they open: off 0 … host 3.
func (m NetworkMode) Rank() int {
	for i, v := range NetworkModes {
		if v == m {
			return i
		}
	}
	return -1
}

// UnixSockets says which Unix sockets the sandbox may connect to.
type UnixSockets string

// The unix_sockets values.
const (
	// UnixSocketsGranted allows the sockets the policy forwards and the
	// sockets made inside the sandbox; a socket a host process listens on
	// is refused even where a shared directory shows it.
	UnixSocketsGranted UnixSockets = "granted"
	// UnixSocketsAll allows every socket the sandbox can see.
	UnixSocketsAll UnixSockets = "all"
)

// UnixSocketsValues lists the values from most to least restrictive.
var UnixSocketsValues = []UnixSockets{UnixSocketsGranted, UnixSocketsAll}

// UnmarshalText accepts a unix_sockets value.
func (u *UnixSockets) UnmarshalText(text []byte) error {
	v, err := parseEnum(string(text), "unix_sockets value", UnixSocketsValues)
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// String returns the value's name.
func (u UnixSockets) String() string { return string(u) }

// MountMode is how an extra mount appears inside the sandbox.
type MountMode string

// The mount modes.
const (
	MountRW    MountMode = "rw"
	MountRO    MountMode = "ro"
	MountTmpfs MountMode = "tmpfs"
	MountHide  MountMode = "hide"
)

// MountModes lists every mount mode.
var MountModes = []MountMode{MountRW, MountRO, MountTmpfs, MountHide}

// UnmarshalText accepts a mount mode name.
func (m *MountMode) UnmarshalText(text []byte) error {
	v, err := parseEnum(string(text), "mount mode", MountModes)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String returns the mode name.
func (m MountMode) String() string { return string(m) }

// LayerKind names a configuration layer.
type LayerKind string

// The layers, lowest precedence first.
const (
	LayerBuiltin LayerKind = "builtin"
	LayerPackage LayerKind = "package"
	LayerSystem  LayerKind = "system"
	LayerUser    LayerKind = "user"
	LayerProject LayerKind = "project"
	LayerFlags   LayerKind = "flags"
)

// parseEnum returns the value of vals whose text equals s, or an error
// listing the accepted values.
func parseEnum[T ~string](s, what string, vals []T) (T, error) {
	names := make([]string, len(vals))
	for i, v := range vals {
		if string(v) == s {
			return v, nil
		}
		names[i] = string(v)
	}
	return "", fmt.Errorf("unknown %s %q (want one of %s)", what, s, strings.Join(names, ", "))
}
