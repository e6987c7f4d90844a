// A worker process's view of itself (proc.Self) and its start-up: its
// flags, the pipe ends it inherited as fds 3 and 4, the segment attached
// by id; then waiting for pings, where the dispatcher's death shows as
// end of file on the ping pipe.

package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"osps/common/pingpong"
	"osps/common/shm"
)

// BeatEvery is how often a worker beats its heartbeat while it waits on
// the network for a client, each such wait bounded by a deadline (v2
// during a call-back, v3 while its ticket waits). Once the answer flows,
// only its progress beats: a transfer that stalls stops the heartbeat.
const BeatEvery = 100 * time.Millisecond

// The worker's inherited file descriptors (exec.Cmd.ExtraFiles[i] is 3+i).
const (
	pingFD  = 3 // read end of the ping pipe
	pongFD  = 4 // write end of the pong pipe
	extraFD = 5 // the first of Config.Files
)

// ExtraFile is the i-th file the dispatcher handed this worker beyond its
// pipes (Config.Files), fd 5 + i, or nil if it handed fewer (--extra-files).
// The caller owns it.
func (s *Self) ExtraFile(i int, name string) *os.File {
	if i < 0 || i >= s.extra {
		return nil
	}
	return os.NewFile(uintptr(extraFD+i), name)
}

// WorkerFlags are the command-line flags of the internal worker role.
type WorkerFlags struct {
	ShmID     int
	Slot      int
	Heartbeat time.Duration
	Trace     bool
	Chaos     string
	Extra     int // files inherited after the pipes (Config.Files), set per slot by the pool
}

// Register adds the worker role's flags to fs.
func (f *WorkerFlags) Register(fs *pflag.FlagSet) {
	fs.IntVar(&f.ShmID, "shm-id", -1, "System V shared memory id to attach")
	fs.IntVar(&f.Slot, "slot", -1, "this worker's slot number")
	fs.DurationVar(&f.Heartbeat, "heartbeat", time.Second, "beat the slot's heartbeat at least this often while idle")
	fs.BoolVar(&f.Trace, "trace", false, "print one line per protocol step on stderr")
	fs.StringVar(&f.Chaos, "chaos", "", "fault injection: crash=P,hang=P,lie=P,seed=S")
	fs.IntVar(&f.Extra, "extra-files", 0, "files inherited after the two pipes, as fds 5, 6, ...")
}

func (f *WorkerFlags) args() []string {
	a := []string{"--shm-id", strconv.Itoa(f.ShmID), "--slot", strconv.Itoa(f.Slot), "--heartbeat", f.Heartbeat.String()}
	if f.Trace {
		a = append(a, "--trace")
	}
	if f.Chaos != "" {
		a = append(a, "--chaos", f.Chaos)
	}
	if f.Extra > 0 {
		a = append(a, "--extra-files", strconv.Itoa(f.Extra))
	}
	return a
}

// Self is a worker process's view of itself: its slot in the segment and
// its two pipes to the dispatcher (the dispatcher's view is Handle).
type Self struct {
	ID    int
	Pid   int // this process's pid, read once (os.Getpid is a system call each time)
	Seg   *shm.Segment
	Slot  *shm.Slot
	Log   *slog.Logger // the worker's logger (role, slot, pid), set by RunWorker's loop
	ping  *os.File
	pong  *os.File
	beat  time.Duration
	extra int       // ExtraFile's count
	poll  bool      // Next waits in a raw ppoll(2) (WorkerRole.PollWait), not in the runtime's poller
	poked time.Time // the last wait in the runtime's poller (pollTurn)
}

// pollTurn bounds how long a worker waits in ppoll(2) before it waits
// in the runtime's poller instead, where its goroutine is parked and
// scheduled again: at least every pollTurn, and whenever no ping came
// within pollTurn (an idle worker then sleeps as any Go program does).
// The runtime's monitor (sysmon) preempts, with a signal, a goroutine
// that has run 10 ms without being scheduled again, and a goroutine
// asleep in a raw ppoll looks like one that runs.
const pollTurn = 8 * time.Millisecond

// Attach is the worker's start-up: it takes fds 3 and 4, attaches the
// segment and checks its slot number. It does not yet say ready (Ready).
func Attach(f WorkerFlags) (*Self, error) {
	if f.ShmID < 0 || f.Slot < 0 {
		return nil, errors.New("worker is an internal role: it needs --shm-id and --slot from its dispatcher")
	}
	// Ctrl-C in a terminal reaches the whole process group; the
	// dispatcher decides when its workers stop (by closing their pipes).
	signal.Ignore(os.Interrupt)
	// Non-blocking before os.NewFile, so the Go runtime polls the pipe
	// and read deadlines work on it.
	for _, fd := range []int{pingFD, pongFD} {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return nil, fmt.Errorf("fd %d is not an inherited pipe end (is this worker started by serve?)", fd)
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("fd %d: set non-blocking: %w", fd, err)
		}
	}
	ping := os.NewFile(pingFD, "ping")
	pong := os.NewFile(pongFD, "pong")
	seg, err := shm.Attach(f.ShmID)
	if err != nil {
		ping.Close()
		pong.Close()
		return nil, fmt.Errorf("worker %d: %w", f.Slot, err)
	}
	if f.Slot >= seg.NSlots() {
		_ = seg.Detach()
		ping.Close()
		pong.Close()
		return nil, fmt.Errorf("worker slot %d: segment has %d slots", f.Slot, seg.NSlots())
	}
	beat := f.Heartbeat
	if beat <= 0 {
		beat = time.Second
	}
	s := &Self{ID: f.Slot, Pid: os.Getpid(), Seg: seg, Slot: seg.Slot(f.Slot), ping: ping, pong: pong, beat: beat, extra: f.Extra}
	s.Slot.Beat()
	return s, nil
}

// Ready tells the dispatcher that this worker can take pings.
func (s *Self) Ready() error {
	return s.Pong(pingpong.Msg{Op: pingpong.PongReady, Arg: uint64(s.Pid)})
}

// Next waits for the next ping, beating the slot's heartbeat while it
// waits. It returns pingpong.ErrPeerGone when the dispatcher is gone.
func (s *Self) Next() (pingpong.Msg, error) {
	if s.poll && time.Since(s.poked) < pollTurn {
		return s.nextPolled()
	}
	s.poked = time.Now()
	for {
		s.Slot.Beat() // DOC: heartbeat: at least every --heartbeat while idle
		if err := s.ping.SetReadDeadline(time.Now().Add(s.beat)); err != nil {
			return pingpong.Msg{}, fmt.Errorf("ping deadline: %w", err)
		}
		m, err := pingpong.Recv(rawPipe{s.ping})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if s.poll { // nextPolled's reads must not meet this deadline
			_ = s.ping.SetReadDeadline(time.Time{})
		}
		return m, err
	}
}

// nextPolled is Next for a worker that waits in ppoll(2) (pollIn): per
// ping one ppoll and one read, where the runtime's poller makes a read
// that fails (EAGAIN) and two epoll_pwait besides (docs/comparison.md,
// "What the Go runtime adds").
func (s *Self) nextPolled() (pingpong.Msg, error) {
	for {
		s.Slot.Beat() // the heartbeat, as in Next: pollTurn is far below any --heartbeat
		left := pollTurn - time.Since(s.poked)
		if left <= 0 {
			return s.Next() // the turn of the runtime's poller
		}
		ready, err := pollIn(pingFD, left)
		if err != nil {
			return pingpong.Msg{}, err
		}
		if ready { // a record, or end of file: the read does not wait
			m, err := pingpong.Recv(rawPipe{s.ping})
			if errors.Is(err, os.ErrDeadlineExceeded) { // Next's, left over
				_ = s.ping.SetReadDeadline(time.Time{})
				continue
			}
			return m, err
		}
	}
}

// BeatWhile beats the slot's heartbeat now and every BeatEvery until
// stop is called: a worker that waits on the network for its client (v2
// during its call-back, v3 while its ticket waits) is alive, not hung,
// and each such wait has a deadline of its own. Once stop returns, no
// beat comes from it any more; stop may be called more than once.
func (s *Self) BeatWhile() (stop func()) {
	done, over := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(over)
		t := time.NewTicker(BeatEvery)
		defer t.Stop()
		for {
			s.Slot.Beat()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-over
	}
}

// Pong sends one pong record to the dispatcher.
func (s *Self) Pong(m pingpong.Msg) error {
	s.Slot.Beat()
	return pingpong.Send(rawPipe{s.pong}, m)
}

// Close detaches the segment and closes the pipes.
func (s *Self) Close() error {
	s.ping.Close()
	s.pong.Close()
	return s.Seg.Detach()
}
