package main

import (
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The container image as users get it, built the way CI can build it here:
// buildah, FROM scratch, from a locally built static binary
// (packaging/docker/Dockerfile.prebuilt; no container can run on these
// machines, so the image's config and files are inspected instead).
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary and an image; skipped with -short")
	}
	buildah := peerNeedProgram(t, "buildah")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("buildah's image store needs root here, and CI=true runs as root")
		}
		t.Skip("buildah's image store needs root")
	}
	ctx := t.TempDir()
	rootfs := filepath.Join(ctx, "rootfs")
	for _, d := range []string{"usr/local/bin", "etc/ssl/certs", "usr/share", "config"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(ctx, "state", "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(rootfs, "usr/local/bin/tesla2mqtt")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// An empty base has no dynamic loader: the binary must need none.
	if f, err := elf.Open(bin); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("the binary asks for a dynamic loader; it would not start FROM scratch")
			}
		}
		f.Close()
	}
	for _, c := range [][]string{
		{"cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(rootfs, "etc/ssl/certs/")},
		{"cp", "-a", "/usr/share/zoneinfo", filepath.Join(rootfs, "usr/share/")},
		{"cp", "../../packaging/docker/config.toml", filepath.Join(rootfs, "config/config.toml")},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	tag := "localhost/tesla2mqtt-test:" + hex.EncodeToString(suffix)
	buildah1 := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(buildah, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	buildah1("bud", "--format", "docker", "--isolation", "chroot", "-f", "../../packaging/docker/Dockerfile.prebuilt",
		"--build-arg", "VERSION=0.0.0-test", "-t", tag, ctx)
	t.Cleanup(func() { _ = exec.Command(buildah, "rmi", "-f", tag).Run() })

	var img struct {
		Docker struct {
			Config struct {
				User         string
				Entrypoint   []string
				Cmd          []string
				WorkingDir   string
				Volumes      map[string]any
				ExposedPorts map[string]any
				Labels       map[string]string
				Healthcheck  *struct{ Test []string }
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(buildah1("inspect", "--type", "image", tag)), &img); err != nil {
		t.Fatal(err)
	}
	c := img.Docker.Config
	check := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s = %s, want %s", what, g, w)
		}
	}
	check("User", c.User, "10001:10001")
	check("Entrypoint", c.Entrypoint, []string{"/usr/local/bin/tesla2mqtt"})
	check("Cmd", c.Cmd, []string{"run", "-c", "/config/config.toml"})
	check("WorkingDir", c.WorkingDir, "/data")
	check("Volumes", c.Volumes, map[string]any{"/data": map[string]any{}})
	check("ExposedPorts", c.ExposedPorts, map[string]any{"1883/tcp": map[string]any{}, "8088/tcp": map[string]any{}})
	if c.Healthcheck == nil {
		t.Error("no HEALTHCHECK (needs --format docker)")
	} else {
		// Exec form: no shell; the port comes from the same config as run.
		check("Healthcheck", c.Healthcheck.Test, []string{"CMD", "/usr/local/bin/tesla2mqtt", "healthcheck", "-c", "/config/config.toml"})
	}
	for k, v := range map[string]string{"org.opencontainers.image.title": "tesla2mqtt", "org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version": "0.0.0-test", "org.opencontainers.image.source": "https://github.com/tesla2mqtt/tesla2mqtt"} {
		check("label "+k, c.Labels[k], v)
	}

	// The files: no shell, the state folder the user's, the config readable.
	cont := buildah1("from", tag)
	t.Cleanup(func() { _ = exec.Command(buildah, "rm", cont).Run() })
	mnt := buildah1("mount", cont)
	t.Cleanup(func() { _ = exec.Command(buildah, "umount", cont).Run() })
	for _, sh := range []string{"bin/sh", "usr/bin/sh", "bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(mnt, sh)); err == nil {
			t.Errorf("the image has /%s; it should need no shell", sh)
		}
	}
	owner := func(p string) (uint32, uint32, os.FileMode) {
		fi, err := os.Stat(filepath.Join(mnt, p))
		if err != nil {
			t.Fatalf("image file %s: %v", p, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return st.Uid, st.Gid, fi.Mode().Perm()
	}
	for _, f := range []struct {
		path     string
		uid, gid uint32
		mode     os.FileMode
	}{
		{"data", 10001, 10001, 0o700},
		{"config/config.toml", 0, 0, 0o644},
		{"usr/local/bin/tesla2mqtt", 0, 0, 0o755},
		{"etc/ssl/certs/ca-certificates.crt", 0, 0, 0o644},
		{"usr/share/zoneinfo/Europe/Berlin", 0, 0, 0o644},
	} {
		uid, gid, mode := owner(f.path)
		if uid != f.uid || gid != f.gid || mode != f.mode {
			t.Errorf("/%s: %d:%d %04o, want %d:%d %04o", f.path, uid, gid, mode, f.uid, f.gid, f.mode)
		}
	}
	// The default config is valid but lacks the one key only the user has:
	// check-config says so, because run cannot start without it.
	out, err := exec.Command(filepath.Join(mnt, "usr/local/bin/tesla2mqtt"), "check-config", "-c", filepath.Join(mnt, "config/config.toml")).CombinedOutput()
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); err == nil || len(lines) != 1 || !strings.Contains(lines[0], "tesla.client_id") {
		t.Errorf("the image's default config: %v\n%s; want one problem, tesla.client_id", err, out)
	}
}

// The two Dockerfiles make the same image: everything from USER on is
// identical, so what CI checks on the prebuilt one holds for the one users
// build.
func TestDockerfilesAgree(t *testing.T) {
	tail := func(path string) string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(raw)
		i := strings.Index(s, "\nUSER ")
		if i < 0 {
			t.Fatalf("%s has no USER line", path)
		}
		return s[i:]
	}
	if a, b := tail("../../Dockerfile"), tail("../../packaging/docker/Dockerfile.prebuilt"); a != b {
		t.Errorf("Dockerfile and packaging/docker/Dockerfile.prebuilt differ from USER on:\n--- Dockerfile\n%s\n--- prebuilt\n%s", a, b)
	}
}

// The compose example as written: it builds and names its image, keeps the
// state in a named volume (created owned by the image's user, so no chown),
// mounts the config where the image's command and health check read it,
// and that config is valid.
func TestComposeExample(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Build   any      `yaml:"build"`
			Command []string `yaml:"command"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	readYAML(t, "../../examples/docker/docker-compose.yml", &compose)
	s, ok := compose.Services["tesla2mqtt"]
	if !ok {
		t.Fatal("no tesla2mqtt service")
	}
	if s.Image == "" || s.Build == nil {
		t.Errorf("image %q, build %v: the service must build the image it names", s.Image, s.Build)
	}
	if !slices.Equal(s.Command, []string{"run", "-c", "/config/config.toml"}) {
		t.Errorf("command %v", s.Command)
	}
	var data, cfg string
	for _, v := range s.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		dst, _, _ = strings.Cut(dst, ":")
		switch dst {
		case "/data":
			data = src
		case "/config/config.toml":
			cfg = src
		}
	}
	if _, named := compose.Volumes[data]; data == "" || !named {
		t.Errorf("/data is mounted from %q; want a named volume declared under volumes:", data)
	}
	if cfg != "./config.toml" {
		t.Errorf("config mounted from %q, want ./config.toml (what the README's cp makes)", cfg)
	}
	c, err := loadConfig("../../examples/docker/config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/data" || c.HTTP.Addr != "0.0.0.0:8088" || c.MQTT.URL != "tcp://mosquitto:1883" {
		t.Errorf("compose config: state_dir %q http %q mqtt %q", c.StateDir, c.HTTP.Addr, c.MQTT.URL)
	}
	if _, err := loadConfig("../../packaging/docker/config.toml"); err != nil {
		t.Errorf("the image's default config: %v", err)
	}
}
