// rubric.go is the rubric, in one place: how many points each check
// group is worth. A group's score is its points times the share of its
// checks that passed (a skipped check earns nothing, and fails nothing);
// the total is over the groups graded. docs/teaching.md prints this
// table ("Scores and the rubric"); rubric_test.go keeps the two equal.

package main

import (
	"fmt"
	"math"
	"strings"

	"osps/common/tools/conformance"
)

// Rubric is the points of each group, in the order of conformance.Groups.
var Rubric = map[string]int{
	"structure": 25,
	"protocol":  20,
	"sessions":  15,
	"large":     10,
	"cli":       10,
	"faults":    10,
	"watchdog":  10,
}

// GroupScore is one group's line of a score.
type GroupScore struct {
	Group   string  `json:"group"`
	Points  int     `json:"points"` // what the group is worth
	Score   float64 `json:"score"`  // what this program earned
	Checks  int     `json:"checks"`
	Summary         // passed, failed, skipped
}

// Score scores results over groups: per group, and the total out of the
// groups' points.
func Score(variant string, groups []string, results []Check) (per []GroupScore, score float64, total int) {
	for _, g := range groups {
		gs := GroupScore{Group: g, Points: Rubric[g], Checks: len(conformance.Checks([]string{g}, variant)), Summary: Count(results, g)}
		if gs.Checks > 0 {
			gs.Score = round1(float64(gs.Points) * float64(gs.Passed) / float64(gs.Checks))
		}
		per = append(per, gs)
		score += gs.Score
		total += gs.Points
	}
	return per, round1(score), total
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// Points formats a score: 20, 13.3.
func Points(x float64) string { return fmt.Sprintf("%g", round1(x)) }

// RubricMarkdown is the rubric as docs/teaching.md shows it.
func RubricMarkdown() string {
	var b strings.Builder
	b.WriteString("| group | points | checks | what it checks |\n| --- | --- | --- | --- |\n")
	total, checks := 0, 0
	for _, g := range conformance.Groups {
		n := len(conformance.Checks([]string{g.Name}, ""))
		fmt.Fprintf(&b, "| `%s` | %d | %d | %s |\n", g.Name, Rubric[g.Name], n, g.What)
		total += Rubric[g.Name]
		checks += n
	}
	fmt.Fprintf(&b, "| total | %d | %d | |\n", total, checks)
	return b.String()
}
