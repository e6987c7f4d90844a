// The dispatcher's supervision of its workers, the part of the seed
// "with a watchdog": a dead worker is replaced at once (nginx, PostgreSQL), a
// worker whose heartbeat stops is killed and replaced (gunicorn's worker
// timeout), and a slot whose worker keeps dying right after it starts is
// restarted ever more slowly (systemd's start-rate limit) instead of
// looping. Without --watchdog none of this runs: the bare part only
// notices deaths and times requests out.

package proc

import (
	"syscall"
	"time"

	"osps/common/shm"
)

// Watchdog configures supervision.
type Watchdog struct {
	Enabled     bool
	HangTimeout time.Duration // a heartbeat older than this means hung
	KillGrace   time.Duration // SIGTERM, then SIGKILL after this long
}

// Start-rate limit: a worker that dies within MinLife of its start counts
// as a quick death; from the second quick death in a row, the next start
// waits FirstBackoff, doubled each time, at most MaxBackoff.
const (
	MinLife      = time.Second
	FirstBackoff = 250 * time.Millisecond
	MaxBackoff   = 8 * time.Second
)

// respawn starts a new worker in w's slot, after a back-off if the slot's
// workers keep dying right after they start.
func (p *Pool) respawn(w *Handle) {
	id := w.ID
	p.mu.Lock()
	if time.Since(w.started) < MinLife {
		p.quick[id]++
	} else {
		p.quick[id] = 0
	}
	quick := p.quick[id]
	p.mu.Unlock()

	var wait time.Duration
	if quick >= 2 {
		wait = min(FirstBackoff<<(quick-2), MaxBackoff)
		w.log.Warn("worker keeps dying right after it starts: slowing down its restarts (start-rate limit)",
			"quick_deaths_in_a_row", quick, "next_start_in", wait)
	}
	for {
		select {
		case <-p.closing:
			return
		case <-time.After(wait):
		}
		// DOC: watchdog-respawn
		nw, err := p.startWorker(id)
		if err == ErrClosing {
			return
		}
		if err != nil {
			wait = min(max(2*wait, FirstBackoff), MaxBackoff)
			p.cfg.Log.Error("respawn failed", "worker", id, "err", err, "next_try_in", wait)
			continue
		}
		nw.Slot.AddRestart()
		nw.log.Info("worker respawned", "restarts", nw.Slot.Restarts(), "old_pid", w.Pid)
		p.Release(nw)
		return
	}
}

// watchHangs looks at every worker's heartbeat a few times per
// HangTimeout and kills a worker whose heartbeat has stopped.
func (p *Pool) watchHangs() {
	defer p.monitor.Done()
	tick := time.NewTicker(max(p.cfg.Watchdog.HangTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.closing:
			return
		case <-tick.C:
		}
		for _, w := range p.Workers() {
			if w == nil || !w.Alive() || w.Slot.State() == shm.Starting {
				continue
			}
			// DOC: watchdog-hang
			silent := time.Since(w.Slot.Heartbeat())
			if silent > p.cfg.Watchdog.HangTimeout && w.killing.CompareAndSwap(false, true) {
				p.monitor.Add(1)
				go p.killHung(w, silent)
			}
		}
	}
}

// killHung sends SIGTERM, then SIGKILL after KillGrace. The worker's
// death is then noticed and handled like any other (watchExit).
func (p *Pool) killHung(w *Handle, silent time.Duration) {
	defer p.monitor.Done()
	grace := p.cfg.Watchdog.KillGrace
	if grace <= 0 {
		grace = time.Second
	}
	w.log.Warn("worker hung: no heartbeat, sending SIGTERM", "silent_for", silent.Round(time.Millisecond), "hang_timeout", p.cfg.Watchdog.HangTimeout)
	w.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(grace):
		w.log.Warn("worker ignored SIGTERM: SIGKILL")
		w.Kill()
	}
}
