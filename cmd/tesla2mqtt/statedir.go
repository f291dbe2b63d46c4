package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/tesla2mqtt/tesla2mqtt/config"
)

// stateDirHost is what the state directory check needs to know about the
// process and its machine; tests fill it in.
type stateDirHost struct {
	uid, gid int
	// container: the process runs in a container, so the fix is made on
	// the host, on the folder mounted into it.
	container bool
	// mountinfo is the path of /proc/self/mountinfo (to name the mount
	// point that holds the state directory).
	mountinfo string
}

// realStateDirHost describes this process.
func realStateDirHost() stateDirHost {
	return stateDirHost{uid: os.Getuid(), gid: os.Getgid(), container: inContainer(), mountinfo: "/proc/self/mountinfo"}
}

// inContainer reports the marks Docker, Podman and systemd-nspawn leave.
func inContainer() bool {
	for _, p := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return os.Getenv("container") != ""
}

// ensureStateDir is called by every command that writes state before it
// does anything else: a token that Tesla issued but the bridge cannot save
// is a login lost, so the user should learn about the directory before
// signing in, not after. It creates the directory (0700) when missing and
// proves it writable with a temporary file.
func ensureStateDir(dir string) error {
	return checkStateDir(dir, realStateDirHost())
}

// loadStateConfig loads the config of a command that writes state (run,
// login, register) and checks its state directory, the two steps each of
// them starts with.
func loadStateConfig(path string) (*config.Config, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	if err := ensureStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	return cfg, nil
}

func checkStateDir(dir string, h stateDirHost) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return usageErr("state_dir %q: %v", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return stateDirError(abs, err, h)
	}
	f, err := os.CreateTemp(abs, ".write-test-*")
	if err != nil {
		return stateDirError(abs, err, h)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return stateDirError(abs, err, h)
	}
	return nil
}

// stateDirError says what failed and the one command that fixes it.
func stateDirError(dir string, cause error, h stateDirHost) error {
	head := fmt.Sprintf("state_dir %s is not writable by uid %d (gid %d): %v", dir, h.uid, h.gid, cause)
	owner := fmt.Sprintf("%d:%d", h.uid, h.gid)
	var fix string
	switch {
	case errors.Is(cause, syscall.EROFS):
		fix = "the file system is read-only: point state_dir at a writable place (a Docker volume, or StateDirectory= under systemd)"
	case errors.Is(cause, syscall.ENOSPC):
		fix = "the disk is full: free some space on it"
	case h.container && mountPointOf(dir, h.mountinfo) != "/":
		// On a volume or bind mount: the owner is set on the host. (A
		// folder in the container's own file system is fixed in place,
		// like on any machine, below.)
		mount := mountPointOf(dir, h.mountinfo)
		fix = fmt.Sprintf("on the host, run 'sudo chown -R %s <the folder mounted at %s>' "+
			"(for '-v ./data:%s', or './data:%s' in compose, that is 'sudo chown -R %s ./data'), "+
			"or mount a named volume at %s instead", owner, mount, mount, mount, owner, mount)
	case exists(dir):
		fix = fmt.Sprintf("run 'sudo chown -R %s %s'", owner, dir)
	default:
		fix = fmt.Sprintf("run 'sudo install -d -o %d -g %d -m 0700 %s'", h.uid, h.gid, dir)
	}
	return &exitError{code: 2, err: fmt.Errorf("%s\n  fix: %s", head, fix)}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// mountPointOf returns the mount point that holds dir, from a mountinfo
// file; "/" when none is found (or the file is unreadable).
func mountPointOf(dir, mountinfo string) string {
	best := "/"
	f, err := os.Open(mountinfo)
	if err != nil {
		return best
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Fields: id parent major:minor root mount-point options ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if within(dir, mp) && len(mp) > len(best) {
			best = mp
		}
	}
	return best
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	if dir == "/" || p == dir {
		return true
	}
	return strings.HasPrefix(p, dir+"/")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// configNotReadable is the config file's counterpart of stateDirError: in
// a container the file is usually bind-mounted from the host with the host
// user's mode, and uid 10001 cannot read a 0600 file it does not own.
func configNotReadable(path string, cause error, h stateDirHost) error {
	fix := fmt.Sprintf("run 'sudo chmod 0644 %s', or give it to the group the bridge runs in (gid %d) with mode 0640", path, h.gid)
	if h.container && mountPointOf(path, h.mountinfo) != "/" {
		fix = "on the host, make the file mounted there readable: 'chmod 0644 ./config.toml' for the compose example, " +
			"or 'sudo chgrp " + strconv.Itoa(h.gid) + " FILE && sudo chmod 0640 FILE' to keep it from other users"
	}
	return &exitError{code: 2, err: fmt.Errorf("config %s is not readable by uid %d (gid %d): %v\n  fix: %s", path, h.uid, h.gid, cause, fix)}
}
