// rubric_test.go keeps the rubric and docs/teaching.md together: the
// page's "Scores and the rubric" section holds the table RubricMarkdown
// prints, and the rubric covers every group, for 100 points.

package main

import (
	"os"
	"strings"
	"testing"

	"osps/common/tools/conformance"
)

func TestRubric(t *testing.T) {
	total := 0
	for _, g := range conformance.Groups {
		if Rubric[g.Name] <= 0 {
			t.Errorf("group %s has no points in Rubric (rubric.go)", g.Name)
		}
		total += Rubric[g.Name]
	}
	if total != 100 || len(Rubric) != len(conformance.Groups) {
		t.Errorf("the rubric gives %d points over %d groups; want 100 over the %d groups", total, len(Rubric), len(conformance.Groups))
	}
	per, score, max := Score("v1", []string{"cli"}, []Check{{Name: "Help", Group: "cli", Status: "pass"}, {Name: "Client", Group: "cli", Status: "skip"}})
	if score != 3.3 || max != 10 || per[0].Passed != 1 || per[0].Skipped != 1 {
		t.Errorf("Score(cli: 1 pass, 1 skip of 3) = %v/%d %+v; want 3.3/10", score, max, per)
	}
}

func TestRubricInTeachingPage(t *testing.T) {
	b, err := os.ReadFile(root + "/docs/teaching.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Scores and the rubric\n")
	if !ok {
		t.Fatal(`docs/teaching.md has no section "## Scores and the rubric"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	if want := RubricMarkdown(); !strings.Contains(section, "\n"+want) || strings.Count(string(b), want[:strings.Index(want, "\n")]) != 1 {
		t.Errorf("docs/teaching.md, \"Scores and the rubric\", must hold the rubric as rubric.go has it, once in the page; put this table there:\n\n%s", want)
	}
}
