// sheet_test.go keeps the lab sheet, the handout of a session (docs/lab.md
// and docs/fr/lab.md) true: every count it promises ("N passed, 0 failed", "rules: N
// passed"), the `lab list` it shows, every file it tells a student to
// edit, and the replies it quotes, checked against what the tools and the
// servers really say. TestLabs (OSPS_LAB_FULL=1) checks in turn that the
// real `lab check` prints the counts computed here.

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"osps/common/tools/conformance"
)

var handouts = []string{"docs/lab.md", "docs/fr/lab.md"}

// claimRE finds a count the handout promises, and the commands it may
// belong to: the nearest command before a count is the one it is about.
var (
	countRE   = regexp.MustCompile("`(?:rules: )?(\\d+) passed, 0 failed`|(?m)^(\\d+) passed, 0 failed$")
	commandRE = regexp.MustCompile(`lab (?:check|start) ([a-z0-9-]+)|check (v[123])[^` + "`" + `\n]*?--only ([a-z,]+)`)
)

// handoutCountErrors checks every count of page against the grader's
// catalogue and the labs' rules, and returns what is wrong.
func handoutCountErrors(page string) []string {
	var errs []string
	cmds := commandRE.FindAllStringSubmatchIndex(page, -1)
	for _, c := range countRE.FindAllStringSubmatchIndex(page, -1) {
		claim := page[c[0]:c[1]]
		var num string
		if c[2] >= 0 {
			num = page[c[2]:c[3]]
		} else {
			num = page[c[4]:c[5]]
		}
		line := 1 + strings.Count(page[:c[0]], "\n")
		var cmd []int
		for _, m := range cmds {
			if m[1] <= c[0] {
				cmd = m
			}
		}
		if cmd == nil {
			errs = append(errs, fmt.Sprintf("line %d: %s follows no command (lab check NAME or check vN --only GROUPS)", line, claim))
			continue
		}
		var want int
		var what string
		if cmd[2] >= 0 {
			l, ok := Find(page[cmd[2]:cmd[3]])
			if !ok {
				errs = append(errs, fmt.Sprintf("line %d: no lab %q", line, page[cmd[2]:cmd[3]]))
				continue
			}
			if strings.Contains(claim, "rules: ") {
				want, what = len(l.Rules), "lab "+l.Name+"'s rules"
			} else {
				want, what = len(conformance.Checks([]string{l.Group}, l.Variant)), "lab check "+l.Name+" (group "+l.Group+")"
			}
		} else {
			groups := strings.Split(page[cmd[6]:cmd[7]], ",")
			want, what = len(conformance.Checks(groups, page[cmd[4]:cmd[5]])), "the groups "+page[cmd[6]:cmd[7]]
		}
		if fmt.Sprint(want) != num {
			errs = append(errs, fmt.Sprintf("line %d: %s, but %s count %d", line, claim, what, want))
		}
	}
	return errs
}

func readHandout(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandoutCounts(t *testing.T) {
	for _, p := range handouts {
		page := readHandout(t, p)
		if n := len(countRE.FindAllString(page, -1)); n < 6 {
			t.Errorf("%s: %d counts found, want at least 6 (did the pattern drift?)", p, n)
		}
		for _, e := range handoutCountErrors(page) {
			t.Errorf("%s: %s", p, e)
		}
	}
}

// TestHandoutCountsCatchAWrongCount: the check above is not blind.
func TestHandoutCountsCatchAWrongCount(t *testing.T) {
	page := readHandout(t, "docs/lab.md")
	for _, c := range []struct{ right, wrong string }{
		{"`10 passed, 0 failed`", "`9 passed, 0 failed`"},
		{"`6 passed, 0 failed` (every size", "`4 passed, 0 failed` (every size"},
		{"`rules: 7 passed, 0 failed`", "`rules: 6 passed, 0 failed`"},
	} {
		if !strings.Contains(page, c.right) {
			t.Fatalf("docs/lab.md no longer holds %s", c.right)
		}
		if errs := handoutCountErrors(strings.Replace(page, c.right, c.wrong, 1)); len(errs) != 1 {
			t.Errorf("the page with %s instead of %s: errors %q, want one", c.wrong, c.right, errs)
		}
	}
}

// TestHandoutListAndFiles: the `lab list` block is the real one, and
// every file of a lab copy the page names holds that lab's region.
func TestHandoutListAndFiles(t *testing.T) {
	var list bytes.Buffer
	run([]string{"list"}, &list, &list)
	fileRE := regexp.MustCompile("`lab/([a-z0-9-]+)/([^`]+\\.go)`")
	for _, p := range handouts {
		page := readHandout(t, p)
		if !strings.Contains(page, "```\n"+list.String()+"```") {
			t.Errorf("%s: the `lab list` block is not what ./run.sh lab list prints:\n%s", p, list.String())
		}
		seen := 0
		for _, m := range fileRE.FindAllStringSubmatch(page, -1) {
			l, ok := Find(m[1])
			if !ok {
				t.Errorf("%s: %s: no lab %s", p, m[0], m[1])
				continue
			}
			r, err := Locate(root, l)
			if err != nil {
				t.Fatal(err)
			}
			if r.File != m[2] {
				t.Errorf("%s: says to write lab %s in %s; its region is in %s", p, l.Name, m[2], r.File)
			}
			seen++
		}
		if seen < 3 {
			t.Errorf("%s: %d lab files named, want at least 3", p, seen)
		}
	}
}

// TestHandoutReplies: the replies Part 5 quotes from exercise 12, `nc`
// on v2 (a client that cannot be called back), are the server's.
func TestHandoutReplies(t *testing.T) {
	if IsHandout(root) {
		t.Skip("the students' copy: the servers need the labs written")
	}
	dir := t.TempDir()
	bin, err := conformance.Build(dir, "osps/v2-worker-calls-client")
	if err != nil {
		t.Fatal(err)
	}
	srv := conformance.Start(t, bin, "--workers", "1")
	conn, err := net.DialTimeout("tcp", srv.Addr, conformance.IOTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(conformance.IOTimeout))
	if _, err := conn.Write([]byte("requetetype1\nQUIT\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	var got []string
	for range 3 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, strings.TrimRight(l, "\r\n"))
	}
	// The page's words, `WAIT <ticket> <proof>`, then `ERR ...`, then `BYE`:
	// a <name> is one word, "..." anything.
	claimRE := regexp.MustCompile("`nc` [^`]*`(WAIT[^`]*)`, [^`]*`(ERR[^`]*)`, [^`]*`(BYE)`")
	for _, p := range handouts {
		m := claimRE.FindStringSubmatch(readHandout(t, p))
		if m == nil {
			t.Errorf("%s: no `nc` ... `WAIT ...`, `ERR ...`, `BYE` checkpoint found", p)
			continue
		}
		for i, claim := range m[1:] {
			pat := regexp.QuoteMeta(claim)
			pat = regexp.MustCompile(`<[a-z]+>`).ReplaceAllString(pat, `\S+`)
			pat = strings.ReplaceAll(pat, `\.\.\.`, `.*`)
			if !regexp.MustCompile("^" + pat + "$").MatchString(got[i]) {
				t.Errorf("%s: the page says `%s`, the server said %q", p, claim, got[i])
			}
		}
	}
}
