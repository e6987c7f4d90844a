// summary.go reads the load generator's summary line (common/client's
// Summary.Print) back into numbers: the bench runs each variant's client
// in load mode and parses what it printed.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"osps/common/client"
	"osps/common/wire"
)

// ParseSummary reads what Print wrote (other lines are skipped) and
// returns the summary of its last "summary" line.
func ParseSummary(r io.Reader) (*client.Summary, error) {
	var s *client.Summary
	byCode := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		word, rest, _ := strings.Cut(sc.Text(), " ")
		switch word {
		case "errors":
			kv, err := keyValues(rest)
			if err != nil {
				return nil, err
			}
			byCode[kv.str("code")] += int64(kv.num("count"))
			if kv.err != nil {
				return nil, kv.err
			}
		case "summary":
			kv, err := keyValues(rest)
			if err != nil {
				return nil, err
			}
			s = &client.Summary{
				Clients: int(kv.num("clients")), Requests: int64(kv.num("requests")),
				OK: int64(kv.num("ok")), Errors: int64(kv.num("errors")), Bytes: int64(kv.num("bytes")),
				Elapsed: time.Duration(kv.num("seconds") * float64(time.Second)),
				P50:     kv.us("p50_us"), P90: kv.us("p90_us"), P99: kv.us("p99_us"), Max: kv.us("max_us"),
				ByCode: byCode,
			}
			if kv.err != nil {
				return nil, kv.err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	if s == nil {
		return nil, errors.New("no summary line")
	}
	return s, nil
}

// kvs is a parsed "key=value key=value" line; the first problem sticks.
type kvs struct {
	m   map[string]string
	err error
}

func keyValues(s string) (*kvs, error) {
	kv := &kvs{m: map[string]string{}}
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("summary field %q is not key=value", wire.Printable([]byte(f), 40))
		}
		kv.m[k] = v
	}
	return kv, nil
}

func (kv *kvs) str(k string) string {
	v, ok := kv.m[k]
	if !ok && kv.err == nil {
		kv.err = fmt.Errorf("summary: no %s= field", k)
	}
	return v
}

func (kv *kvs) num(k string) float64 {
	v := kv.str(k)
	if kv.err != nil {
		return 0
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		kv.err = fmt.Errorf("summary field %s=%q: %w", k, wire.Printable([]byte(v), 40), err)
	}
	return x
}

func (kv *kvs) us(k string) time.Duration {
	return time.Duration(kv.num(k) * float64(time.Microsecond))
}
