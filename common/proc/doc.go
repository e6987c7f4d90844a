// Package proc is process start-up and supervision: the dispatcher
// re-executes its own binary as "worker" once per slot, hands each worker
// its two pipe ends as file descriptors 3 and 4 (and, if the variant asks,
// more files as 5, 6, ...: Config.Files), keeps the pool of idle
// workers, notices at once when one dies, and reaps every child.
//
// Parent side (pool.go, worker.go):
//
//	pipe(ping), pipe(pong)             os.Pipe twice
//	fork+exec self "worker --shm-id ID --slot I"   exec.Cmd, ExtraFiles = fd 3 (ping read end), fd 4 (pong write end)
//	close the child's ends in the parent   or EOF never comes
//	wait for "pong ready"              the worker attached the segment
//	reap with cmd.Wait                 never a wait4(-1) reaper
//
// Child side (child.go): attach the segment by id, read pings on fd 3,
// write pongs on fd 4, exit on EOF of fd 3 (the dispatcher is gone).
//
// Both sides read and write their pipe ends with raw system calls
// (rawpipe.go): they are non-blocking, and the runtime's poller waits;
// a worker whose role asks for it (ChildRole.PollWait: v1's) waits for
// its ping in a raw ppoll(2) instead, with a turn in the poller at
// least every 8 ms (child.go, pollTurn).
package proc
