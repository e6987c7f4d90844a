// net.go turns a socket's inode into addresses: the kernel lists every TCP
// socket of the network namespace in /proc/net/tcp (and tcp6), one line
// each, with the inode that /proc/<pid>/fd shows as "socket:[inode]".

package procfs

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// TCPSocket is one line of /proc/net/tcp or /proc/net/tcp6.
type TCPSocket struct {
	Inode  uint64
	Local  netip.AddrPort
	Remote netip.AddrPort
	State  string // "LISTEN", "ESTABLISHED", ...
}

// tcpStates names the st column (include/net/tcp_states.h).
var tcpStates = map[uint64]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}

// TCPSockets reads /proc/net/tcp and /proc/net/tcp6, keyed by inode
// (sockets in TIME_WAIT have inode 0 and are left out).
func TCPSockets() (map[uint64]TCPSocket, error) {
	out := map[uint64]TCPSocket{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6
			}
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		socks, err := ParseTCP(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, s := range socks {
			if s.Inode != 0 {
				out[s.Inode] = s
			}
		}
	}
	return out, nil
}

// ParseTCP parses the text of /proc/net/tcp or tcp6.
func ParseTCP(r io.Reader) ([]TCPSocket, error) {
	sc := bufio.NewScanner(r)
	sc.Scan() // sl local_address rem_address st ...
	var out []TCPSocket
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			return nil, fmt.Errorf("short line %q", sc.Text())
		}
		local, err1 := parseHexAddr(f[1])
		remote, err2 := parseHexAddr(f[2])
		st, err3 := strconv.ParseUint(f[3], 16, 8)
		ino, err4 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("bad line %q", sc.Text())
		}
		out = append(out, TCPSocket{Inode: ino, Local: local, Remote: remote, State: tcpStates[st]})
	}
	return out, sc.Err()
}

// parseHexAddr reads "0100007F:A36F": the address as the kernel holds
// it in memory (32-bit words in host order), the port in big-endian hex.
func parseHexAddr(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", h)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", p)
	}
	// Each 32-bit word was printed as a host-order integer: read the
	// digits as that integer and lay it back in memory in host order.
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
