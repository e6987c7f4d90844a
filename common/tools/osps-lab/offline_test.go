// offline_test.go proves what docs/teaching.md promises a room without
// internet: once prepared (`go mod download`, staticcheck installed at
// its pinned version), `./run.sh test` and a lab check run with the
// network off (GOPROXY=off: any module not in the cache is an error).
// It runs with OSPS_OFFLINE=1 (.ci/run): it compiles the whole tree.

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestOffline(t *testing.T) {
	if os.Getenv("OSPS_OFFLINE") == "" {
		t.Skip("OSPS_OFFLINE=1 runs it (.ci/run)")
	}
	if IsHandout(root) {
		t.Skip("the students' copy: its labs are stubs")
	}
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "osps")
	if err := copyTree(root, repo); err != nil {
		t.Fatal(err)
	}
	gobin := filepath.Join(tmp, "gobin")
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	sh := func(env []string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), env...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	// The preparation, with the network (docs/teaching.md).
	for _, args := range [][]string{
		{"mod", "download"},
		{"install", "honnef.co/go/tools/cmd/staticcheck@v0.8.2"},
	} {
		if out, err := sh([]string{"GOBIN=" + gobin}, realGo, args...); err != nil {
			t.Fatalf("preparation: go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	// The network off. The last piece of ./run.sh test, go test -race
	// ./..., is compiled here, not run (a go in front of the real one
	// turns it into go test -run '^$'): what needs the network is the
	// build, and running every test is CI's own step.
	fake := filepath.Join(tmp, "fakego")
	if err := os.MkdirAll(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nif [ \"$1\" = test ] && [ \"$2\" = -race ]; then shift 2; exec " + realGo + " test -run '^$' \"$@\"; fi\nexec " + realGo + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(fake, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	offline := []string{
		"GOPROXY=off", "GOFLAGS=-mod=mod", "GOSUMDB=off",
		"PATH=" + fake + string(os.PathListSeparator) + gobin + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
	out, err := sh(offline, "./run.sh", "test")
	if err != nil {
		t.Fatalf("./run.sh test offline: %v\n%s", err, out)
	}
	if strings.Contains(out, "go: downloading") {
		t.Errorf("./run.sh test offline downloaded something:\n%s", out)
	}

	// A lab, started and checked offline, on the reference.
	if out, err := sh(offline, "./run.sh", "lab", "start", "pipe-record"); err != nil {
		t.Fatalf("lab start offline: %v\n%s", err, out)
	}
	l, _ := Find("pipe-record")
	r, err := Locate(root, l)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(root, r.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "lab", "pipe-record", r.File), ref, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = sh(offline, "./run.sh", "lab", "check", "pipe-record")
	if err != nil || !bytes.Contains([]byte(out), []byte("rules: 4 passed, 0 failed")) {
		t.Fatalf("lab check offline, on the reference: %v\n%s", err, out)
	}
	t.Logf("offline: ./run.sh test (tests compiled) and lab check pipe-record passed with GOPROXY=off")
}
