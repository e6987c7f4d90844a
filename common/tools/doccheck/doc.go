// Package doccheck keeps the guide in docs/ and the code together, as the
// xv6 book stays tied to its source by stable anchors rather than line
// numbers. Its test reads every page of docs/, every .go and .py file of the
// repository and run.sh, and fails on any drift (pages in folders of
// docs/, such as the French pages of docs/fr/, are read the same way,
// their links resolved from their own folder):
//
//  1. A doc page cites code as a Markdown link whose text is an anchor,
//     [STEP v1.2](../v1-relay/dispatcher.go) or
//     [DOC: shm-rmid-at-once](../common/shm/shm.go). The linked file must
//     hold that anchor as a comment: two slashes, the anchor, then a ':'
//     or the end of the line (xv6 writes its anchors the same way).
//  2. Every STEP anchor in the code (one per numbered protocol step of a
//     variant) must be cited by some page of docs/, so that a step cannot
//     be added or renamed in the code alone. A variant directory (v2-...)
//     whose page docs/v2-....md does not exist yet is reported once, as
//     "no doc page", instead of once per anchor: a variant without its
//     page is an error too, but one line says so better than twenty.
//  3. Every repository path the pages mention exists: relative links, and
//     code spans such as `common/shm/slot.go` whose first element is a
//     top-level entry of the repository (or a variant directory, v2-...).
//     Links must stay inside the repository, so that they work in a
//     student's clone.
//  4. Every `./run.sh ...` command quoted in a page (in a code span or a
//     fenced block) is one that `./run.sh help` lists.
//
// Python files (.py, testdata included: the grader's Python programs
// live in common/tools/osps-grade/testdata/python) hold anchors the same way,
// as a "#" comment: the anchor, then a ':' or the end of the line.
//
// A DOC anchor that no page cites is allowed (a page may cite it later);
// a STEP anchor is not. A comment that starts like an anchor but is not
// one (a missing colon, a bad step number) is reported, since it would
// silently stop matching its citation. Links to a #fragment of a page
// must name one of its headings, as GitHub turns them into anchors.
//
// The checker is a small library (Check takes a root directory) so that
// the test on the real tree and the test on the fixture under
// testdata/tree, which breaks each rule on purpose, share it.
package doccheck
