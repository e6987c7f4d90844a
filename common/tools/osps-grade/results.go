// results.go is what one `check` found, whole: every check of the
// groups asked for (one that never ran fails, with the reason), the
// score per group and the total (rubric.go), written as JSON for a
// script (--json FILE, and `grade`, which collects them).

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"osps/common/tools/conformance"
)

// Results is one program's grading.
type Results struct {
	Variant  string       `json:"variant"`
	Program  string       `json:"program"`
	Groups   []string     `json:"-"`
	Scores   []GroupScore `json:"groups"`
	Score    float64      `json:"score"`
	Total    int          `json:"total"`
	Summary               // passed, failed, skipped
	Seconds  float64      `json:"time"`
	Checks   []Check      `json:"checks"`
	Problems []string     `json:"problems,omitempty"` // what belongs to no check: the build, a server that never started, the time bound
}

// complete gives every check of the groups that has no result a failure
// that says why it did not run (one line per reason on w), then counts
// and scores.
func (r *Results) complete(w io.Writer) {
	reason := "it did not run"
	if len(r.Problems) > 0 {
		reason = r.Problems[0]
	}
	for _, p := range r.Problems {
		if strings.HasPrefix(p, "the grader's bound") || strings.HasPrefix(p, "interrupted") {
			reason = p
		}
	}
	var missing []string
	for _, g := range r.Groups {
		for _, name := range conformance.Checks([]string{g}, r.Variant) {
			if !slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Name == name }) {
				r.Checks = append(r.Checks, Check{Name: name, Group: g, Status: "fail", Message: "not run: " + shorten(reason), Doc: conformance.Catalog[name].Doc})
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "FAIL  %d checks not run (%s): %s\n", len(missing), strings.Join(missing, ", "), shorten(reason))
	}
	r.Summary = Count(r.Checks, "")
	r.Scores, r.Score, r.Total = Score(r.Variant, r.Groups, r.Checks)
}

// Write writes r as indented JSON to path.
func (r *Results) Write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the results: %w", err)
	}
	return nil
}
