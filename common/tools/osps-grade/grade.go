// grade.go is `./run.sh grade DIR`: every submission of a class at once.
// Each subfolder of DIR is one submission: a tree to build (it holds a
// go.mod) or a folder holding a program (an executable named `server`,
// or its only executable), graded with --bin. Its variant is the first
// word of a file named `variant` in it, or else its name's prefix (v1-,
// v2-, v3-). Each is graded by a grader process of its own, as many at
// once as the machine has cores, each with its own time bound (its
// servers take ports with --port 0 and private segments, so they never
// meet); a submission that hangs or crashes costs its own row, never the
// run. The rows go to DIR/grades.md (a Markdown table) and
// DIR/grades.csv, each submission's report to DIR/.grades/NAME.txt.

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
)

// Submission is one subfolder of the class folder.
type Submission struct {
	Name    string
	Dir     string
	Variant string
	Tree    bool   // a tree to build; else Program is graded with --bin
	Program string // the executable, for a program
	Problem string // why it cannot be graded, if it cannot
}

// Row is one submission's line of the table.
type Row struct {
	Submission
	Res *Results
}

// FindSubmissions reads the class folder dir.
func FindSubmissions(dir string) ([]Submission, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the class folder: %w", err)
	}
	var subs []Submission
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s := Submission{Name: e.Name(), Dir: filepath.Join(dir, e.Name())}
		if b, err := os.ReadFile(filepath.Join(s.Dir, "variant")); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				s.Variant = f[0]
			}
		} else if v, _, ok := strings.Cut(s.Name, "-"); ok {
			s.Variant = v
		}
		if Variants[s.Variant] == "" {
			s.Problem = fmt.Sprintf("no variant: name the folder v1-..., v2-... or v3-..., or put v1, v2 or v3 in a file named variant (got %q)", s.Variant)
		}
		if _, err := os.Stat(filepath.Join(s.Dir, "go.mod")); err == nil {
			s.Tree = true
		} else if s.Program, err = program(s.Dir); err != nil && s.Problem == "" {
			s.Problem = err.Error()
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// program finds the executable of a submission that is not a tree.
func program(dir string) (string, error) {
	if info, err := os.Stat(filepath.Join(dir, "server")); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
		return filepath.Join(dir, "server"), nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var exes []string
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			exes = append(exes, e.Name())
		}
	}
	if len(exes) != 1 {
		return "", fmt.Errorf("no go.mod (a tree to build), and %d executable files %v: want one, or one named server", len(exes), exes)
	}
	return filepath.Join(dir, exes[0]), nil
}

func runGrade(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("grade", pflag.ContinueOnError)
	only := fs.String("only", "", "grade only these check groups, comma-separated (default: all)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "submissions graded at once")
	timeout := fs.Duration("timeout", DefaultTimeout, "the bound on one submission, build included")
	out := fs.String("out", "", "write the table to OUT.md and OUT.csv (default: DIR/grades)")
	root := fs.String("root", ".", "the repository whose checks run (where go.mod is)")
	grader := fs.String("grader", "", "the grader program that grades one submission (default: this one)")
	synopsis := fmt.Sprintf("./run.sh grade DIR [--only GROUP,...] [--jobs N] [--timeout D] [--out PREFIX]\n\n"+
		"Grades every subfolder of DIR: a tree to build (it holds a go.mod), or a folder\n"+
		"holding a program (an executable named server, or its only executable), graded\n"+
		"with --bin. The variant is the first word of a file named variant in it, or its\n"+
		"name's prefix (v1-alice, v3-bob). %d at once here; each ends within --timeout\n"+
		"(default %v). Writes DIR/grades.md, DIR/grades.csv and DIR/.grades/NAME.txt.",
		runtime.NumCPU(), DefaultTimeout)
	if status, done := cli.ParseTo(fs, args, synopsis, stdout, stderr); done {
		return status
	}
	if fs.NArg() != 1 {
		return cli.UsageError(stderr, fs, synopsis, "want one DIR")
	}
	if *jobs < 1 {
		return cli.UsageError(stderr, fs, synopsis, fmt.Sprintf("--jobs %d: want 1 or more", *jobs))
	}
	groups, err := parseGroups(*only)
	if err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	dir, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 2
	}
	subs, err := FindSubmissions(dir)
	if err != nil || len(subs) == 0 {
		fmt.Fprintf(stderr, "grade: %s: no submission (%v)\n", dir, err)
		return 2
	}
	prefix := *out
	if prefix == "" {
		prefix = filepath.Join(dir, "grades")
	}
	logs := filepath.Join(dir, ".grades")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 1
	}
	self := *grader
	if self == "" {
		if self, err = os.Executable(); err != nil {
			fmt.Fprintf(stderr, "grade: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "grading %d submissions of %s, %d at once, each within %v\n", len(subs), dir, *jobs, *timeout)
	rows := make([]Row, len(subs))
	sem := make(chan struct{}, *jobs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = gradeOne(ctx, self, absRoot, s, groups, *timeout, logs)
			mu.Lock()
			fmt.Fprintf(stdout, "%-24s %s\n", s.Name, rows[i].Summary())
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := writeTable(prefix, groups, rows); err != nil {
		fmt.Fprintf(stderr, "grade: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s.md and %s.csv (reports: %s/)\n", prefix, prefix, logs)
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

// gradeOne grades one submission with a grader process of its own, in
// its own process group, and reads its --json. The grader ends itself
// within timeout; past a margin it is interrupted (it then stops what it
// started), and killed if that does not end it.
func gradeOne(ctx context.Context, self, root string, s Submission, groups []string, timeout time.Duration, logs string) Row {
	row := Row{Submission: s}
	fail := func(why string) Row {
		row.Res = &Results{Variant: s.Variant, Program: s.Dir, Groups: groups, Problems: []string{why}}
		row.Res.complete(io.Discard)
		return row
	}
	if s.Problem != "" {
		return fail(s.Problem)
	}
	js := filepath.Join(logs, s.Name+".json")
	_ = os.Remove(js)
	args := []string{s.Variant, "--json", js, "--timeout", timeout.String(), "--root", root, "--only", strings.Join(groups, ",")}
	if s.Tree {
		args = append(args, "--tree", s.Dir)
	} else {
		args = append(args, "--bin", s.Program)
	}
	log, err := os.Create(filepath.Join(logs, s.Name+".txt"))
	if err != nil {
		return fail(err.Error())
	}
	defer log.Close()
	cctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, self, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 15 * time.Second
	began := time.Now()
	werr := cmd.Run()
	res, rerr := readResults(js)
	if rerr != nil {
		why := fmt.Sprintf("the grader of this submission ended with %v after %v and wrote no result", werr, time.Since(began).Round(time.Second))
		if cctx.Err() != nil {
			why = fmt.Sprintf("stopped after %v: %v", time.Since(began).Round(time.Second), cctx.Err())
		}
		return fail(why)
	}
	row.Res = res
	return row
}

func readResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Summary is a row in one line, for the terminal.
func (r Row) Summary() string {
	return fmt.Sprintf("%s/%d  %d passed, %d failed, %d skipped  %s", Points(r.Res.Score), r.Res.Total, r.Res.Passed, r.Res.Failed, r.Res.Skipped, r.Failures())
}

// Failures names what failed: the checks, or what kept them from running.
func (r Row) Failures() string {
	var names []string
	for _, c := range r.Res.Checks {
		if c.Status == "fail" && !strings.HasPrefix(c.Message, "not run: ") {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	s := strings.Join(names, " ")
	if p := mainProblem(r.Res.Problems); p != "" && s != "" {
		s += "; " + p
	} else if p != "" {
		s = p
	}
	if rs := []rune(s); len(rs) > 200 {
		s = string(rs[:200]) + "…"
	}
	return s
}

// mainProblem is the problem that says most of why checks did not run:
// the time bound, the test binary's end, the build, a server that did
// not start, in that order ("" if none).
func mainProblem(problems []string) string {
	for _, prefix := range []string{"the grader's bound", "stopped after", "interrupted", "the test binary stopped", "build: ", "no variant", "no go.mod", "the grader of this submission", "Test"} {
		for _, p := range problems {
			if strings.HasPrefix(p, prefix) {
				return shorten(p)
			}
		}
	}
	return ""
}

// scoreOf is a row's score in group g.
func (r Row) scoreOf(g string) string {
	for _, gs := range r.Res.Scores {
		if gs.Group == g {
			return Points(gs.Score)
		}
	}
	return "0"
}

// writeTable writes the rows to prefix.md and prefix.csv.
func writeTable(prefix string, groups []string, rows []Row) error {
	head := append(append([]string{"submission", "variant"}, groups...), "score", "total", "passed", "failed", "skipped", "failures")
	var md strings.Builder
	md.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat(" --- |", len(head)) + "\n")
	f, err := os.Create(prefix + ".csv")
	if err != nil {
		return fmt.Errorf("write the CSV: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	_ = w.Write(head)
	for _, r := range rows {
		cells := []string{r.Name, r.Variant}
		for _, g := range groups {
			cells = append(cells, r.scoreOf(g))
		}
		cells = append(cells, Points(r.Res.Score), fmt.Sprint(r.Res.Total), fmt.Sprint(r.Res.Passed), fmt.Sprint(r.Res.Failed), fmt.Sprint(r.Res.Skipped), r.Failures())
		_ = w.Write(cells)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		md.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write the CSV: %w", err)
	}
	if err := os.WriteFile(prefix+".md", []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("write the table: %w", err)
	}
	return nil
}
