// table_test.go checks the reading of the kernel's table of segments: a
// segment made by Create is listed with this process as its creator,
// marked for removal, and is gone from the table after its last detach;
// and the parser on a known text.

package shm

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableSeenThenGone(t *testing.T) {
	s, err := Create(1, MinSlotSize)
	if err != nil {
		t.Fatal(err)
	}
	detached := false
	t.Cleanup(func() {
		if !detached {
			_ = s.Detach()
		}
	})
	es, err := Table()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(es, func(e Entry) bool { return e.ID == s.ID() })
	if i < 0 {
		t.Fatalf("segment %d not in /proc/sysvipc/shm", s.ID())
	}
	e := es[i]
	if e.Cpid != os.Getpid() || e.Nattch != 1 || e.Size != int64(Size(1, MinSlotSize)) || !e.Dest() || e.Perms&0o777 != 0o600 {
		t.Errorf("entry %+v: want cpid %d, nattch 1, size %d, dest, mode 600", e, os.Getpid(), Size(1, MinSlotSize))
	}
	mine, err := CreatedBy(os.Getpid())
	if err != nil || !slices.Contains(mine, s.ID()) {
		t.Errorf("CreatedBy(self) = %v, %v; want it to hold %d", mine, err, s.ID())
	}
	detached = true
	if err := s.Detach(); err != nil {
		t.Fatal(err)
	}
	mine, err = CreatedBy(os.Getpid())
	if err != nil || slices.Contains(mine, s.ID()) {
		t.Errorf("after the last detach, CreatedBy(self) = %v, %v; want %d gone", mine, err, s.ID())
	}
}

func TestParseTable(t *testing.T) {
	text := `       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
         0      65583  1600                135232 20745 20778      3     0     0     0     0 1796154578          0 1796154577                  8192                     0
         0      65585   600                 10304 20169 20169      1     0     0     0     0 1796154578          0 1796154578                  4096                     0
`
	got, err := ParseTable(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{ID: 65583, Perms: 0o1600, Size: 135232, Cpid: 20745, Lpid: 20778, Nattch: 3},
		{ID: 65585, Perms: 0o600, Size: 10304, Cpid: 20169, Lpid: 20169, Nattch: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseTable (-want +got):\n%s", d)
	}
	if !got[0].Dest() || got[1].Dest() {
		t.Errorf("Dest: %v %v; want true false", got[0].Dest(), got[1].Dest())
	}
	if _, err := ParseTable(strings.NewReader("header\n0 x 600 1 2 3 4\n")); err == nil {
		t.Errorf("ParseTable accepted a bad shmid")
	}
}
