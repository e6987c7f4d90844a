// exercises.go keeps docs/exercises.md true: each of its exercises is run
// as written (its fenced sh blocks, taken from the page itself), in a
// scratch copy of the repository with ports of its own, with the "break
// it" changes applied from the patches kept beside the page
// (docs/exercises/NN-name.patch), and its output is checked against what
// the page promises.
//
// To add an exercise: write its section "## N. Title" in the page, with
// its commands in ```sh blocks, then add one Exercise to the list below
// (which blocks to run, with which patch, and what the output must show),
// and try it: ./run.sh exercises N.
//
// When the code under a patch changes and the patch no longer applies
// (TestExercisesMatchThePage says so), make the change again by hand as
// the page describes it, save it with `git diff FILE >
// docs/exercises/NN-name.patch`, and undo it (git restore FILE).

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"osps/common/cli"
	"osps/common/tools/freeport"
)

// Exercise is what the runner does with one section of docs/exercises.md.
type Exercise struct {
	N     int
	Title string   // the section's heading, after "N. "
	Needs []string // commands it needs besides bash and go (installed with apt-get when missing, else skipped)
	Steps []Step
}

// Step runs some of the section's sh blocks, after applying a patch (or
// with none), and checks their output.
type Step struct {
	Patch  string   // a file of docs/exercises/ to apply first; "" runs the code as it is
	Blocks []int    // the section's ```sh blocks to run, counted from 0, in one bash
	Want   []string // regular expressions the output (stdout and stderr) must match
	Fails  bool     // the blocks must end with a non-zero status (a check that must fail)
}

// Exercises is the list the runner runs, one entry per section of the page.
var Exercises = []Exercise{
	{N: 1, Title: "Follow one request across three processes", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`v1 step 3 worker`, `done: every answer checked, nothing left behind`}},
	}},
	{N: 2, Title: "Shrink the slots", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`requetetype2 200000: OK 200000 bytes`, `(?m)^49$`}},
		{Blocks: []int{1}, Want: []string{`requetetype2 67108864: OK 67108864 bytes`, `real\s`}},
	}},
	{N: 3, Title: "Look at the segment while it lives", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`our segment: \d+`, `\s12352\s+3\s+dest`, `(?m)^\s*\d+\s+\d+\s+1600\s+12352\s`, `SYSV`, `segment \d+ is gone`}},
	}},
	{N: 4, Title: "kill -9 the dispatcher", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`workers: \d+ \d+ \d+ \d+`, `\s\d+\s+\d+\s+dest`, `no worker left`, `segment \d+ is gone`}},
	}},
	{N: 5, Title: "kill -9 a worker during a large request", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`requetetype2 67108864: FAILED: short payload: \d+ of 67108864 bytes`, `state=dead served=1 restarts=0`, `requetetype1: OK`}},
		{Blocks: []int{1}, Want: []string{`ERR worker-failed`, `STATS: OK`}},
	}},
	{N: 6, Title: "Hang a worker", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`requetetype1: ERR timeout`, `state=busy served=0`, `late pong: worker idle again`, `state=idle served=2 restarts=0`}},
		{Patch: "06-no-reclaim.patch", Blocks: []int{0}, Want: []string{`requetetype1: ERR timeout`, `requetetype1: ERR busy`}},
		{Patch: "06-no-reclaim.patch", Blocks: []int{1}, Fails: true, Want: []string{`--- FAIL: TestFaults/StopThenContinue`}},
	}},
	{N: 7, Title: "Break the pipe rule: a buffered ping", Steps: []Step{
		{Patch: "07a-buffered-ping.patch", Blocks: []int{0}, Want: []string{`ping worker#0`, `requetetype1: ERR timeout`}},
		{Patch: "07c-buffered-record.patch", Blocks: []int{1}, Fails: true, Want: []string{`did not say ready`}},
	}},
	{N: 8, Title: "Forget to close the child's ends", Steps: []Step{
		{Patch: "08-keep-pongw.patch", Blocks: []int{0}, Want: []string{
			`(?s)msg="worker died".*(msg="request failed".*worker died|send ping next: write \|1: file already closed)|send ping next: write \|1: file already closed`,
			`requetetype2 67108864: FAILED: short payload`,
			`stopped: workers reaped`}},
	}},
	{N: 9, Title: "Send garbage", Needs: []string{"nc", "strace"}, Steps: []Step{
		{Blocks: []int{0}, Want: []string{`ERR bad-request empty request line`, `ERR unknown-type unknown request type "hello"`,
			`ERR too-large`, `ERR bad-request requetetype1 takes no argument`, `unknown request type "\?\?\?\[31mred"`, `ERR line-too-long`}},
		{Blocks: []int{0, 1}, Want: []string{`(?s)ERR line-too-long.*exit 0.*read\(3, "ERR line-too-long`}},
		{Patch: "09-plain-close.patch", Blocks: []int{2}, Fails: true, Want: []string{`connection reset by peer`, `--- FAIL: TestConformance/LineTooLong`}},
	}},
	{N: 10, Title: "Count the system calls", Needs: []string{"strace"}, Steps: []Step{
		{Blocks: []int{0}, Want: []string{`% time`, `\swrite\n`}},
	}},
	{N: 11, Title: "v3: knock on a worker's door without a ticket", Needs: []string{"nc"}, Steps: []Step{
		{Blocks: []int{0, 1}, Want: []string{`(?s)ERR bad-ticket.*GOTO 127\.0\.0\.1 \d+ [0-9a-f]{32}.*ERR bad-ticket.*OK \d+.*ERR bad-ticket.*ERR bad-ticket`}},
	}},
	{N: 12, Title: "v2: a client that cannot be called back", Needs: []string{"nc"}, Steps: []Step{
		{Blocks: []int{0}, Want: []string{`WAIT [0-9a-f]{32}`, `ERR worker-failed cannot call back 127\.0\.0\.1:\d+`, `BYE`, `requetetype1: OK`}},
	}},
	{N: 13, Title: "X-ray a worker's replacement", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`(?m)^< .*worker#1 +pid \d+`, `(?m)^> .*worker#1 +pid \d+`, `also held by dispatcher`}},
	}},
	{N: 14, Title: "Watch a crash and a hang heal, live", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`(?m)^0\s+idle\s+\d+\s+\S+\s+0\s`, `(?m)^0\s+idle\s+\d+\s+\S+\s+1\s+0\s+\d+`}},
	}},
	{N: 15, Title: "Predict the network table", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`(?m)^flat +v1 +ok`, `(?m)^nat +v2 +failed .*ERR worker-failed cannot call back`, `(?m)^firewall +v3 +failed`, `(?m)^both +v1 +ok`}},
	}},
	{N: 16, Title: "Which worker takes the request", Steps: []Step{
		{Blocks: []int{0}, Want: []string{`(?m)^worker#0 worker#1 worker#2 $`}},
		{Blocks: []int{1}, Want: []string{`(?m)^worker#0 worker#0 worker#0 $`}},
	}},
}

// sectionRE is a section's heading: "## 8. Forget to close the child's ends".
var sectionRE = regexp.MustCompile(`^## (\d+)\. (.+)$`)

// Section is one exercise of the page: its title and its sh blocks.
type Section struct {
	Title  string
	Blocks []string
}

// ParseExercises reads the sections of docs/exercises.md and their
// fenced sh blocks (also indented ones, inside a list).
func ParseExercises(src []byte) map[int]Section {
	secs := map[int]Section{}
	cur := -1
	var block []string
	inBlock, indent := false, ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		l := sc.Text()
		trim := strings.TrimLeft(l, " ")
		switch {
		case inBlock && strings.HasPrefix(trim, "```"):
			inBlock = false
			if cur >= 0 {
				s := secs[cur]
				s.Blocks = append(s.Blocks, strings.Join(block, "\n")+"\n")
				secs[cur] = s
			}
		case inBlock:
			block = append(block, strings.TrimPrefix(l, indent))
		case trim == "```sh":
			inBlock, indent, block = true, l[:len(l)-len(trim)], nil
		default:
			if m := sectionRE.FindStringSubmatch(l); m != nil {
				cur, _ = strconv.Atoi(m[1])
				secs[cur] = Section{Title: m[2]}
			} else if strings.HasPrefix(l, "## ") {
				cur = -1
			}
		}
	}
	return secs
}

// runExercises runs the exercises numbered in args (all when empty) and
// prints a line for each, then the count.
func runExercises(ctx context.Context, root string, args []string, w io.Writer) int {
	src, err := os.ReadFile(filepath.Join(root, "docs", "exercises.md"))
	if err != nil {
		fmt.Fprintf(w, "exercises: %v\n", err)
		return 1
	}
	secs := ParseExercises(src)
	todo := Exercises
	if len(args) > 0 {
		todo = nil
		for _, a := range args {
			n, _ := strconv.Atoi(a)
			found := false
			for _, e := range Exercises {
				if e.N == n {
					todo, found = append(todo, e), true
				}
			}
			if !found {
				fmt.Fprintf(w, "exercises: no exercise %q in the runner's list\n", a)
				return 2
			}
		}
	}
	scratch, err := os.MkdirTemp("", "osps-exercises-")
	if err != nil {
		fmt.Fprintf(w, "exercises: %v\n", err)
		return 1
	}
	defer os.RemoveAll(scratch)
	if err := copyTree(root, scratch); err != nil {
		fmt.Fprintf(w, "exercises: copy the repository: %v\n", err)
		return 1
	}
	passed, failed, skipped := 0, 0, 0
	for _, e := range todo {
		start := time.Now()
		status, why := runExercise(ctx, scratch, e, secs[e.N])
		switch status {
		case "pass":
			passed++
		case "skip":
			skipped++
		default:
			failed++
		}
		fmt.Fprintf(w, "%-4s %2d. %-48s %5.1fs  %s\n", status, e.N, e.Title, time.Since(start).Seconds(), why)
	}
	fmt.Fprintf(w, "%d passed, %d failed", passed, failed)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", skipped)
	}
	fmt.Fprintln(w)
	if failed > 0 {
		return 1
	}
	return 0
}

// runExercise runs e's steps in the scratch copy dir; the copy is back
// to its original state when it returns.
func runExercise(ctx context.Context, dir string, e Exercise, sec Section) (status, why string) {
	if sec.Title != e.Title {
		return "FAIL", fmt.Sprintf("the page's section %d is %q, the runner expects %q: update Exercises in common/tools/osps-lab/exercises.go", e.N, sec.Title, e.Title)
	}
	for _, tool := range e.Needs {
		if err := need(ctx, tool); err != nil {
			return "skip", fmt.Sprintf("needs %s: %v", tool, err)
		}
	}
	applied := ""
	defer func() {
		if applied != "" {
			_ = gitApply(dir, applied, true)
		}
	}()
	for i, st := range e.Steps {
		if st.Patch != applied {
			if applied != "" {
				if err := gitApply(dir, applied, true); err != nil {
					return "FAIL", err.Error()
				}
				applied = ""
			}
			if st.Patch != "" {
				if err := gitApply(dir, st.Patch, false); err != nil {
					return "FAIL", err.Error()
				}
				applied = st.Patch
			}
		}
		var script strings.Builder
		for _, b := range st.Blocks {
			if b >= len(sec.Blocks) {
				return "FAIL", fmt.Sprintf("step %d: the section has %d sh blocks, no block %d", i+1, len(sec.Blocks), b)
			}
			script.WriteString(sec.Blocks[b])
		}
		out, err := runScript(ctx, dir, script.String())
		what := fmt.Sprintf("step %d (blocks %v", i+1, st.Blocks)
		if st.Patch != "" {
			what += ", with " + st.Patch
		}
		what += ")"
		if st.Fails && err == nil {
			return "FAIL", what + ": ended with status 0, the page says it fails" + tail(out)
		}
		if !st.Fails && err != nil {
			return "FAIL", fmt.Sprintf("%s: %v", what, err) + tail(out)
		}
		for _, want := range st.Want {
			if !regexp.MustCompile(want).MatchString(out) {
				return "FAIL", fmt.Sprintf("%s: the output lacks %s", what, want) + tail(out)
			}
		}
	}
	return "pass", ""
}

func tail(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	return "\n\t" + strings.Join(lines, "\n\t")
}

// gitApply applies (or reverts) docs/exercises/name in dir.
func gitApply(dir, name string, reverse bool) error {
	args := []string{"apply"}
	if reverse {
		args = append(args, "-R")
	}
	cmd := exec.Command("git", append(args, filepath.Join("docs", "exercises", name))...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s docs/exercises/%s: %v\n%s", strings.Join(args, " "), name, err, out)
	}
	return nil
}

// runScript runs script with bash in dir, its own process group and its
// own ports (PORT, and the 4 above it, free), at most 4 minutes; whatever
// it leaves running is killed.
func runScript(ctx context.Context, dir, script string) (string, error) {
	port, err := exercisePorts(os.Getenv("PORT"))
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	cli.OwnGroup(cmd)
	// A file, not a pipe: a server the page leaves running for the next
	// step must not hold the output open.
	f, err := os.CreateTemp("", "osps-exercise-*.out")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a server left running (the page stops it later)
	}
	out, rerr := os.ReadFile(f.Name())
	if rerr != nil {
		return "", rerr
	}
	return string(out), err
}

// exercisePorts is the base of the 5 ports an exercise uses: the
// user's PORT when set (never replaced by another: the page's commands
// run on the ports its reader chose), which must be free with the 4
// above it; else 5 free ports found here.
func exercisePorts(userPort string) (int, error) {
	if userPort == "" {
		return freeport.Find(5)
	}
	p, err := strconv.Atoi(userPort)
	if err != nil || p < 1 || p+4 > 65535 {
		return 0, fmt.Errorf("PORT=%q: not a port with 4 more above it (unset PORT to let the exercises pick free ones)", userPort)
	}
	if err := freeport.Check(p, 5); err != nil {
		return 0, fmt.Errorf("the exercises use PORT=%d to %d: %w (%s)", p, p+4, err, freeport.Hint)
	}
	return p, nil
}

// need makes sure the command tool exists: installed with apt-get when
// missing and possible.
func need(ctx context.Context, tool string) error {
	if _, err := exec.LookPath(tool); err == nil {
		return nil
	}
	pkg := map[string]string{"nc": "netcat-openbsd", "strace": "strace"}[tool]
	if pkg == "" || os.Geteuid() != 0 {
		return fmt.Errorf("not installed (apt-get install %s)", pkg)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("not installed, and no apt-get to install %s", pkg)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", pkg)
	install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := install.CombinedOutput(); err != nil {
		update := exec.CommandContext(ctx, "apt-get", "update", "-q")
		_ = update.Run()
		install = exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", pkg)
		install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out2, err := install.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get install %s failed: %v\n%s%s", pkg, err, out, out2)
		}
	}
	_, err := exec.LookPath(tool)
	return err
}
