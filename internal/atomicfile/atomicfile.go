// Package atomicfile replaces files so that a crash or power cut at any
// moment leaves either the old content or the new, never a torn file: the
// token (whose loss means a new login), the budget counters, the keys, the
// state file and the signed-session cache all go through it.
//
// A write goes to a private temp file in the same directory, is fsynced,
// renamed over the target, and the directory is fsynced so the rename
// itself survives. Temp files are named "."+stem+"-<digits>.tmp" (stem is
// the target's name without its extension); a crash leaves one behind, and
// the next write (or RemoveStale) deletes such leftovers once they are
// StaleAge old, because they may hold secrets.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Step names a stage of a write, in order; Writer.Fault sees each.
type Step string

// The stages of a write. A failure before StepRename leaves the old file
// untouched; StepRename is the commit point.
const (
	StepMkdir   Step = "mkdir"
	StepCreate  Step = "create"
	StepWrite   Step = "write"
	StepSync    Step = "sync"
	StepClose   Step = "close"
	StepRename  Step = "rename"
	StepSyncDir Step = "syncdir"
)

// StaleAge is the age at which a temp file counts as the leftover of an
// interrupted write. A younger one may belong to a write running right now
// in another process (`login` while the bridge runs), so it is left alone.
const StaleAge = time.Minute

// Writer writes files atomically. The zero value writes mode 0600 and
// expects the directory to exist.
type Writer struct {
	// Perm is the mode of the file (default 0600: most of what we write is
	// private). It is set explicitly, so the umask does not narrow it.
	Perm os.FileMode
	// MkdirPerm, when set, creates missing parent directories with this mode.
	MkdirPerm os.FileMode
	// NoReplace fails with an error matching os.ErrExist when the target
	// exists, atomically even against a concurrent writer: a private key is
	// never overwritten.
	NoReplace bool
	// Fault, when set, runs before each step and may fail it; tests use it
	// to inject a failure at every step.
	Fault func(Step) error
}

// Write replaces path with data, mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return Writer{Perm: perm}.Write(path, data)
}

// WriteNew creates path with data, mode perm, and fails with an error
// matching os.ErrExist when path already exists.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	return Writer{Perm: perm, NoReplace: true}.Write(path, data)
}

// Write writes data to path as configured. Errors name the path and the
// step, never the data.
func (w Writer) Write(path string, data []byte) (err error) {
	perm := w.Perm
	if perm == 0 {
		perm = 0o600
	}
	dir := filepath.Dir(path)
	step := func(s Step, fn func() error) error {
		if w.Fault != nil {
			if err := w.Fault(s); err != nil {
				return fmt.Errorf("write %s: %s: %w", path, s, err)
			}
		}
		if err := fn(); err != nil {
			return fmt.Errorf("write %s: %s: %w", path, s, err)
		}
		return nil
	}
	if w.MkdirPerm != 0 {
		if err := step(StepMkdir, func() error { return os.MkdirAll(dir, w.MkdirPerm) }); err != nil {
			return err
		}
	}
	var f *os.File
	if err := step(StepCreate, func() (err error) {
		// CreateTemp opens 0600 with O_EXCL and a fresh name, so two
		// writers never share a temp file.
		if f, err = os.CreateTemp(dir, tempPrefix(path)+"*"+tempSuffix); err != nil {
			return err
		}
		return f.Chmod(perm)
	}); err != nil {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
		return err
	}
	tmp, closed, committed := f.Name(), false, false
	defer func() {
		if !closed {
			f.Close()
		}
		if !committed {
			os.Remove(tmp)
		}
	}()
	removeStaleBeside(path, tmp)
	if err := step(StepWrite, func() error { _, err := f.Write(data); return err }); err != nil {
		return err
	}
	if err := step(StepSync, f.Sync); err != nil {
		return err
	}
	if err := step(StepClose, func() error { closed = true; return f.Close() }); err != nil {
		return err
	}
	if err := step(StepRename, func() error { return commit(tmp, path, w.NoReplace) }); err != nil {
		return err
	}
	committed = true
	return step(StepSyncDir, func() error { return syncDir(dir) })
}

// commit moves tmp to path. Without replace it links instead of renaming,
// which fails if path exists; tmp is then removed by the caller.
func commit(tmp, path string, noReplace bool) error {
	if !noReplace {
		return os.Rename(tmp, path)
	}
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, os.ErrExist) {
		os.Remove(tmp)
		return err
	}
	// No hard links here (some FUSE and FAT mounts): O_EXCL still never
	// overwrites, though a crash mid-copy can leave a partial file.
	return copyExclusive(tmp, path)
}

// copyExclusive creates path (which must not exist) with tmp's content and
// mode, fsynced, and removes tmp.
func copyExclusive(tmp, path string) (err error) {
	data, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		} else {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir fsyncs dir so a rename in it is durable. Filesystems that cannot
// fsync a directory (EINVAL) and Windows are tolerated: the rename is still
// atomic there, only its durability is up to the OS.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

const tempSuffix = ".tmp"

// tempPrefix is "."+stem+"-" for path: hidden, and recognisably ours.
func tempPrefix(path string) string {
	base := filepath.Base(path)
	return "." + strings.TrimSuffix(base, filepath.Ext(base)) + "-"
}

// isTemp reports whether name is one of path's temp files: the prefix,
// CreateTemp's decimal random part, the suffix.
func isTemp(path, name string) bool {
	digits, ok := strings.CutPrefix(name, tempPrefix(path))
	if !ok {
		return false
	}
	digits, ok = strings.CutSuffix(digits, tempSuffix)
	if !ok || digits == "" {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RemoveStale deletes path's temp files that are at least StaleAge older
// than now; now should be the wall clock, since the kernel stamps file
// times with it. Only regular files of the temp pattern are touched;
// failures are ignored, since a leftover costs disk space, not correctness.
func RemoveStale(path string, now time.Time) {
	removeStale(path, "", now)
}

// removeStaleBeside is RemoveStale during a write: the fresh temp file's
// own mtime is "now", so no clock is needed and the comparison is between
// two kernel timestamps.
func removeStaleBeside(path, tmp string) {
	fi, err := os.Stat(tmp)
	if err != nil {
		return
	}
	removeStale(path, filepath.Base(tmp), fi.ModTime())
}

func removeStale(path, keep string, now time.Time) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if name == keep || !e.Type().IsRegular() || !isTemp(path, name) {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) >= StaleAge {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}
