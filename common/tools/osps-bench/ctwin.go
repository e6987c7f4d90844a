// ctwin.go builds the C reference rows: the C twin of v1 (ctwin/v1.c)
// and the C floor (ctwin/floor.c), compiled at run time with the
// system's C compiler into the bin directory. They price the design
// without the Go runtime: Go v1 ÷ C v1, measured in the same rounds,
// is what the Go code adds to the design (docs/comparison.md, "The C
// twin"). Without a C compiler their rows say so and the rest runs.

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cSource is the C file of each C design, in ctwin/.
var cSource = map[string]string{"c-floor": "floor.c", "c-v1": "v1.c"}

// ctwinDir is where the C sources are, from the module's root.
const ctwinDir = "common/tools/osps-bench/ctwin"

// errNoCC is why the C rows are skipped on a machine without a compiler.
var errNoCC = errors.New("no C compiler")

// cCompiler finds the C compiler: $CC if set (a wrong $CC is not
// replaced by another), else cc, else gcc.
func cCompiler() (string, error) {
	if cc := os.Getenv("CC"); cc != "" {
		p, err := exec.LookPath(cc)
		if err != nil {
			return "", fmt.Errorf("%w (CC=%s: %v)", errNoCC, cc, err)
		}
		return p, nil
	}
	for _, name := range []string{"cc", "gcc"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (neither cc nor gcc on PATH)", errNoCC)
}

// buildC compiles the C design name into binDir; skip says why not.
func buildC(root, binDir, name string) (bin, skip string) {
	cc, err := cCompiler()
	if err != nil {
		return "", err.Error()
	}
	bin, err = filepath.Abs(filepath.Join(binDir, name))
	if err != nil {
		return "", fmt.Sprintf("bin directory: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", fmt.Sprintf("bin directory: %v", err)
	}
	src := filepath.Join(root, ctwinDir, cSource[name])
	argv := []string{cc, "-std=c99", "-O2", "-Wall", "-o", bin, src}
	progress("%s", strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("%s failed: %v: %s", filepath.Base(cc), err, firstLine(string(out)))
	}
	return bin, ""
}
