// Package proc holds process start-up and supervision, both sides of it.
// The dispatcher re-executes its own binary as "worker" once per slot,
// hands each worker its two pipe ends as file descriptors 3 and 4 (and,
// if the variant asks, more files as 5, 6, ...: Config.Files), keeps the
// pool of idle workers, notices at once when one dies, and reaps every
// worker it started.
//
// The files say whose side they are on. The dispatcher's
// (dispatcher_handle.go: Handle, one worker; dispatcher_pool.go: Pool;
// dispatcher_watchdog.go: respawns and hang kills):
//
//	pipe(ping), pipe(pong)             os.Pipe twice
//	fork+exec self "worker --shm-id ID --slot I"   exec.Cmd, ExtraFiles = fd 3 (ping read end), fd 4 (pong write end)
//	close the worker's ends here       or EOF never comes
//	wait for "pong ready"              the worker attached the segment
//	reap with cmd.Wait                 never a wait4(-1) reaper
//
// The worker's (worker_self.go: Self and Attach; worker_main.go: RunWorker,
// the loop that hands each ping request to the variant's PingServer,
// and drops a late PingNext or PingAbort): attach the
// segment by id, read pings on fd 3, write pongs on fd 4, exit on end of
// file on fd 3 (the dispatcher is gone).
//
// Both sides read and write their pipe ends with raw system calls
// (rawpipe.go): they are non-blocking, and the runtime's poller waits;
// a worker whose role asks for it (WorkerRole.PollWait: v1's) waits for
// its ping in a raw ppoll(2) instead, with a turn in the poller at
// least every 8 ms (worker_self.go, pollTurn). Fault injection
// (chaos.go) is parsed by the dispatcher and struck in the worker.
package proc
