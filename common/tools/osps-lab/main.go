// Command osps-lab runs the labs (`./run.sh lab list|start NAME|check
// NAME`): a lab is a region of the real code, cut out of a copy of the
// repository under lab/NAME/ and replaced by a stub with a TODO and
// hints; the student writes it again, and the grader checks the copy.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: ./run.sh lab list | start NAME | check NAME [--json FILE] [GRADER FLAGS]
       ./run.sh exercises [N ...]
       ./run.sh handout OUT

  list         the labs: name, variant, the check group that grades it, what you write
  start NAME   copy the repository to lab/NAME/, with the lab's region replaced by a stub
  check NAME   on lab/NAME/: the lab's rules (the repository's unit tests that encode
               them), then, once they pass, the grader with the lab's check group
  exercises [N ...]
               run the exercises of docs/exercises.md as written (all, or those numbered),
               on PORT to PORT+4 if PORT is set, else on free ports
  handout OUT  write the students' copy to OUT: a new git repository, every lab a stub,
               no reference code and no docs/answers.md (handout.go)
`

func run(args []string, stdout, stderr io.Writer) int {
	root, grader := ".", ""
	for len(args) >= 2 && (args[0] == "--root" || args[0] == "--grader") {
		if args[0] == "--root" {
			root = args[1]
		} else {
			grader = args[1]
		}
		args = args[2:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if args[0] == "exercises" {
		for _, a := range args[1:] {
			if a == "-h" || a == "--help" {
				fmt.Fprint(stdout, usage)
				return 0
			}
			if _, err := strconv.Atoi(a); err != nil {
				fmt.Fprintf(stderr, "exercises: %q is not an exercise number\n%s", a, usage)
				return 2
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runExercises(ctx, root, args[1:], stdout)
	}
	// Every subcommand takes --help as its first word after it: the usage
	// on stdout (a path or a lab is never spelled that way). Any other
	// word that starts with "-" is not an option of ours: a usage error.
	if len(args) >= 2 {
		switch {
		case args[1] == "-h" || args[1] == "--help":
			fmt.Fprint(stdout, usage)
			return 0
		case strings.HasPrefix(args[1], "-"):
			fmt.Fprintf(stderr, "%s: unknown option %q\n%s", args[0], args[1], usage)
			return 2
		}
	}
	if args[0] == "handout" && len(args) == 2 {
		if err := Handout(root, args[1], stdout); err != nil {
			fmt.Fprintf(stderr, "handout: %v\n", err)
			return 1
		}
		return 0
	}
	if args[0] == "list" && len(args) == 1 {
		list(stdout)
		return 0
	}
	if len(args) < 2 || (args[0] != "start" && args[0] != "check") || (args[0] == "start" && len(args) != 2) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	l, ok := Find(args[1])
	if !ok {
		fmt.Fprintf(stderr, "lab: no lab %q; ./run.sh lab list shows them\n", args[1])
		return 2
	}
	dir := filepath.Join(root, "lab", l.Name)
	if args[0] == "start" {
		if err := start(root, dir, l, stdout); err != nil {
			fmt.Fprintf(stderr, "lab start %s: %v\n", l.Name, err)
			return 1
		}
		return 0
	}
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(stderr, "lab check %s: %s does not exist: ./run.sh lab start %s first\n", l.Name, dir, l.Name)
		return 2
	}
	if grader == "" {
		fmt.Fprintln(stderr, "lab check: --grader PATH is missing (./run.sh lab check passes it)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := checkRules(ctx, dir, l, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "lab check %s: %v\n", l.Name, err)
		return 1
	}
	if !ok {
		fmt.Fprintf(stdout, "lab %s: not every rule passes (see above); the grader's group %s runs once they all do\n", l.Name, l.Group)
		return 1
	}
	// The flags after NAME go to the grader.
	cmd := exec.CommandContext(ctx, grader, append([]string{l.Variant, "--tree", dir, "--only", l.Group, "--root", root}, args[2:]...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "lab check %s: %v\n", l.Name, err)
		return 1
	}
	return 0
}

func list(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVARIANT\tGROUP\tWHAT YOU WRITE")
	for _, l := range All {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, l.Variant, l.Group, l.What)
	}
	_ = tw.Flush()
}

// start copies the repository at root to dir and cuts the lab out.
func start(root, dir string, l Lab, w io.Writer) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists: keep working in it, or remove it (rm -r %s) to start over", dir, dir)
	}
	r, err := Locate(root, l)
	if err != nil {
		return err
	}
	if err := copyTree(root, dir); err != nil {
		os.RemoveAll(dir)
		return err
	}
	path := filepath.Join(dir, filepath.FromSlash(r.File))
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := Stubbed(src, r, l)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "lab %s: a copy of the repository is in %s/\n", l.Name, dir)
	fmt.Fprintf(w, "  write: %s\n", l.What)
	fmt.Fprintf(w, "  where: %s/%s, the TODO between // LAB %s: begin and // LAB %s: end\n", dir, r.File, l.Name, l.Name)
	fmt.Fprintf(w, "  read:  %s\n", l.Doc)
	fmt.Fprintf(w, "  check: ./run.sh lab check %s   (its rules, then the grader's group %s, on your copy; it fails until you are done)\n", l.Name, l.Group)
	return nil
}

// copyTree copies the repository's files (git's list when root is a
// clone: tracked and untracked, not the ignored ones) from root to dir.
func copyTree(root, dir string) error {
	files, err := repoFiles(root)
	if err != nil {
		return err
	}
	return copyFiles(root, dir, files)
}

// repoFiles lists the repository's files, relative to root, lab/ left out.
func repoFiles(root string) ([]string, error) {
	var files []string
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		for _, f := range bytes.Split(out, []byte{0}) {
			if len(f) > 0 {
				files = append(files, string(f))
			}
		}
	} else {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() && p != root && (rel == "lab" || rel == "bin" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return slices.DeleteFunc(files, func(f string) bool { return strings.HasPrefix(f, "lab/") }), nil
}

// copyFiles copies files (relative paths) from root to dir.
func copyFiles(root, dir string, files []string) error {
	for _, f := range files {
		src := filepath.Join(root, f)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or not a plain file
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}
