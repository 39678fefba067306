package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/adrg/xdg"

	"github.com/claude-sandbox/claude-sandbox/profile"
)

// userEnv describes the invoking user, as the profile loader sees them.
type userEnv struct {
	profile.Env
	// Owner owns what the launcher writes for the user (the trust store,
	// init's file) when it runs as root on their behalf.
	Owner owner
}

// owner is a user files are handed to; the zero value changes nothing.
type owner struct {
	set      bool
	uid, gid int
}

// chown hands path to the owner, when there is one.
func (o owner) chown(path string) error {
	if !o.set {
		return nil
	}
	if err := os.Lchown(path, o.uid, o.gid); err != nil {
		return fmt.Errorf("handing %s to the invoking user: %w", path, err)
	}
	return nil
}

// mkdirAll creates dir and its missing parents with mode perm, each owned
// by the owner.
func (o owner) mkdirAll(dir string, perm os.FileMode) error {
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := o.mkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return o.chown(dir)
}

// invokingUser returns the environment of the user who ran the launcher.
// Through sudo or pkexec that is the original user (SUDO_USER, PKEXEC_UID),
// not root: their home, configuration and trust store.
func invokingUser() (userEnv, error) {
	env := userEnv{
		Env: profile.Env{
			Home:            xdg.Home,
			ConfigHome:      xdg.ConfigHome,
			ConfigDirs:      xdg.ConfigDirs,
			PackageDefaults: packageDefaults,
			DataHome:        xdg.DataHome,
			StateHome:       xdg.StateHome,
		},
	}
	if os.Getuid() == 0 {
		var u *user.User
		var err error
		switch {
		case os.Getenv("SUDO_USER") != "" && os.Getenv("SUDO_USER") != "root":
			u, err = user.Lookup(os.Getenv("SUDO_USER"))
		case os.Getenv("PKEXEC_UID") != "" && os.Getenv("PKEXEC_UID") != "0":
			u, err = user.LookupId(os.Getenv("PKEXEC_UID"))
		}
		if err != nil {
			return env, fmt.Errorf("looking up the invoking user: %w", err)
		}
		if u != nil {
			uid, uerr := strconv.Atoi(u.Uid)
			gid, gerr := strconv.Atoi(u.Gid)
			if uerr != nil || gerr != nil {
				return env, fmt.Errorf("invoking user %s has a non-numeric id", u.Username)
			}
			env.Owner = owner{set: true, uid: uid, gid: gid}
			env.Home = u.HomeDir
			env.ConfigHome = filepath.Join(u.HomeDir, ".config")
			env.DataHome = filepath.Join(u.HomeDir, ".local", "share")
			env.StateHome = filepath.Join(u.HomeDir, ".local", "state")
		}
	}
	if env.Home == "" || !filepath.IsAbs(env.Home) {
		return env, errors.New("cannot tell the home directory: set HOME")
	}
	env.Home = filepath.Clean(env.Home)
	return env, nil
}

// projectDir canonicalises the project directory argument.
func projectDir(arg string) (string, error) {
	if arg == "" {
		arg = "."
	}
	abs, err := filepath.Abs(arg)
	if err != nil {
		return "", fmt.Errorf("project dir %s: %w", arg, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("project dir %s does not exist", abs)
		}
		return "", fmt.Errorf("project dir %s: %w", abs, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("project dir %s: %w", real, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("project dir %s is not a directory", real)
	}
	return real, nil
}

// layerFile is a layer file that was looked for.
type layerFile struct {
	profile.Location
	// Found is true when the file exists.
	Found bool
	// Data is the file's bytes, read exactly once.
	Data []byte
}

// loaded is everything read from the layer files.
type loaded struct {
	env     userEnv
	files   []layerFile // every location, found or not, lowest first
	layers  []*profile.Layer
	project *layerFile // the project file when found
}

// loadLayers reads every layer file that applies to the project and
// decodes it. Every problem of every file is reported at once; a file
// that exists but cannot be read or decoded stops the load.
func loadLayers(env userEnv) (*loaded, error) {
	l := &loaded{env: env}
	var errs []error
	builtin, err := profile.Builtin(env.Env)
	if err != nil {
		return nil, fmt.Errorf("built-in defaults: %w", err)
	}
	l.layers = append(l.layers, builtin)
	l.files = append(l.files, layerFile{Location: profile.Location{Kind: profile.LayerBuiltin, Path: profile.BuiltinName}, Found: true})
	for _, loc := range profile.Locations(env.Env) {
		f := layerFile{Location: loc}
		data, err := readLayerFile(loc.Path)
		switch {
		case err == nil:
			f.Found, f.Data = true, data
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			// absent; any other error (such as a file that cannot be
			// read) stops the launch rather than being skipped
		default:
			errs = append(errs, &profile.Problem{File: loc.Path, Message: "cannot read the file: " + err.Error()})
		}
		l.files = append(l.files, f)
		if !f.Found {
			continue
		}
		layer, err := profile.Decode(loc.Kind, loc.Path, f.Data, env.Env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.layers = append(l.layers, layer)
	}
	for i := range l.files {
		if l.files[i].Kind == profile.LayerProject && l.files[i].Found {
			l.project = &l.files[i]
		}
	}
	if err := profile.JoinProblems(errs...); err != nil {
		return l, err
	}
	return l, nil
}

// maxLayerSize bounds a layer file: a profile is a few kilobytes, and a
// project file arrives with a repository that may be hostile.
const maxLayerSize = 1 << 20

// readLayerFile reads a layer file once. It must be a regular file (a FIFO
// or device planted as a project file would block or never end) of at most
// maxLayerSize bytes.
func readLayerFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLayerSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxLayerSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxLayerSize)
	}
	return data, nil
}
