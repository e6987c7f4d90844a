// freeport_test.go: Find's ports can be listened on, and Check names a
// taken one.

package freeport

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestFindAndCheck(t *testing.T) {
	p, err := Find(5)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(p, 5); err != nil {
		t.Fatalf("Find(5) = %d, but %v", p, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+3))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = Check(p, 5)
	if err == nil || !strings.Contains(err.Error(), "port "+strconv.Itoa(p+3)+" ") {
		t.Errorf("Check(%d, 5) with %d taken = %v; want an error naming %d", p, p+3, err, p+3)
	}
	if err := Check(p, 3); err != nil {
		t.Errorf("Check(%d, 3), %d taken: %v; want nil", p, p+3, err)
	}
}
