package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A missing state directory is created 0700 and the probe leaves nothing behind.
func TestStateDirCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	if err := checkStateDir(dir, realStateDirHost()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v %v, want mode 0700", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the probe left %d files in %s", len(ents), dir)
	}
}

// The fix in the message fits the situation: chown for a folder that
// exists, install -d for one that does not, the host folder behind the
// mount in a container, and no chown at all on a read-only file system.
func TestStateDirFix(t *testing.T) {
	tmp := t.TempDir()
	mountinfo := filepath.Join(tmp, "mountinfo")
	if err := os.WriteFile(mountinfo, []byte(
		"22 1 0:21 / / rw,relatime - overlay overlay rw\n"+
			"23 22 8:1 /srv/t2m/data /data rw,relatime - ext4 /dev/sda1 rw\n"+
			"24 22 8:1 /srv/other /data2 rw,relatime - ext4 /dev/sda1 rw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	denied := &os.PathError{Op: "mkdir", Path: "x", Err: syscall.EACCES}
	cases := []struct {
		name, dir string
		host      stateDirHost
		cause     error
		want      string
	}{
		{"exists", tmp, stateDirHost{uid: 1000, gid: 1000}, denied,
			"run 'sudo chown -R 1000:1000 " + tmp + "'"},
		{"missing", "/var/lib/nowhere-t2m", stateDirHost{uid: 999, gid: 998}, denied,
			"run 'sudo install -d -o 999 -g 998 -m 0700 /var/lib/nowhere-t2m'"},
		{"container", "/data/state", stateDirHost{uid: 10001, gid: 10001, container: true, mountinfo: mountinfo}, denied,
			"on the host, run 'sudo chown -R 10001:10001 <the folder mounted at /data>' (for '-v ./data:/data', or './data:/data' in compose, that is 'sudo chown -R 10001:10001 ./data')"},
		{"container, not on a volume", tmp, stateDirHost{uid: 10001, gid: 10001, container: true, mountinfo: mountinfo}, denied,
			"run 'sudo chown -R 10001:10001 " + tmp + "'"},
		{"read-only", "/data/state", stateDirHost{uid: 10001, gid: 10001, container: true, mountinfo: mountinfo},
			&os.PathError{Op: "mkdir", Path: "x", Err: syscall.EROFS}, "the file system is read-only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := stateDirError(c.dir, c.cause, c.host)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("error %v is not exit code 2", err)
			}
			head := fmt.Sprintf("state_dir %s is not writable by uid %d (gid %d)", c.dir, c.host.uid, c.host.gid)
			if !strings.HasPrefix(err.Error(), head) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("message:\n%s\nwant it to start with %q and contain %q", err, head, c.want)
			}
			if c.name == "read-only" && strings.Contains(err.Error(), "chown") {
				t.Errorf("a chown cannot fix a read-only file system:\n%s", err)
			}
		})
	}
	if got := mountPointOf("/data2x/state", mountinfo); got != "/" {
		t.Errorf("mount point of /data2x/state = %q, want / (a prefix of the name is not a parent)", got)
	}
	if got := unescapeMount(`/mnt/my\040disk`); got != "/mnt/my disk" {
		t.Errorf("unescape: %q", got)
	}
}

// The compose case of issue 14: the image runs as uid 10001 and the host
// folder belongs to someone else. run, login and register must stop before
// any Tesla step with the chown that fixes it, and login must go on once
// the folder is fixed. Runs the real binary as uid 10001 with setpriv.
func TestStateDirNotWritableAsOtherUser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	setpriv := peerNeedProgram(t, "setpriv")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("setpriv --reuid needs root, and CI=true runs as root")
		}
		t.Skip("setpriv --reuid needs root")
	}
	// A folder tree uid 10001 can read and traverse but not write, like a
	// bind-mounted ./data owned by the host user.
	root, err := os.MkdirTemp("", "t2m-statedir-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "tesla2mqtt")
	copyFile(t, peerBinary(t), bin, 0o755)
	cfgPath := filepath.Join(root, "config.toml")
	cfg := fmt.Sprintf("state_dir = %q\n[tesla]\nclient_id = \"app\"\nclient_secret = \"s\"\ndomain = \"app.example.com\"\n"+
		"api_base_url = \"http://127.0.0.1:1\"\nauth_base_url = \"http://127.0.0.1:1\"\n"+
		"[mqtt]\nurl = \"tcp://127.0.0.1:1\"\n[http]\naddr = \"\"\n", data)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	as10001 := func(args ...string) (int, string, string) {
		cmd := exec.Command(setpriv, append([]string{"--reuid", "10001", "--regid", "10001", "--clear-groups", bin}, args...)...)
		cmd.Stdin = strings.NewReader("")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var xe *exec.ExitError
		if err != nil && !errors.As(err, &xe) {
			t.Fatalf("%v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	// A config the user cannot read (a 0600 file bind-mounted from the
	// host) gets its own fix, not a bare "permission denied".
	if err := os.Chmod(cfgPath, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := as10001("run", "-c", cfgPath)
	if want := "config " + cfgPath + " is not readable by uid 10001"; code != 2 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "chmod 0644") {
		t.Errorf("unreadable config: exit %d, stderr:\n%s\nwant exit 2, %q and a chmod", code, stderr, want)
	}
	if err := os.Chmod(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, sub := range [][]string{{"run"}, {"login", "--paste"}, {"register"}} {
		code, stdout, stderr := as10001(append(sub, "-c", cfgPath)...)
		want := fmt.Sprintf("state_dir %s is not writable by uid 10001 (gid 10001)", data)
		fix := "chown -R 10001:10001 " + data
		if code != 2 || !strings.Contains(stderr, want) || !strings.Contains(stderr, fix) {
			t.Errorf("%s as uid 10001: exit %d, stderr:\n%s\nwant exit 2, %q and %q", sub[0], code, stderr, want, fix)
		}
		if strings.Contains(stdout, "Open this URL") || strings.Contains(stdout, "http://127.0.0.1:1") {
			t.Errorf("%s began the Tesla flow before the check:\n%s", sub[0], stdout)
		}
		if sub[0] == "run" {
			t.Logf("run as uid 10001: %s", strings.TrimSpace(stderr))
		}
	}
	if ents, _ := os.ReadDir(data); len(ents) != 0 {
		t.Errorf("a refused command left files in %s", data)
	}

	// The fix as the message says it; login then gets as far as asking
	// for the pasted URL.
	if err := os.Chown(data, 10001, 10001); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := as10001("login", "--paste", "-c", cfgPath)
	if !strings.Contains(stdout, "Open this URL") || strings.Contains(stderr, "not writable") {
		t.Errorf("login after the chown: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
