// Package shm is the System V shared memory segment that the dispatcher
// and its workers share: one header, then one slot per worker.
//
// The segment's life (TLPI ch. 48, svshm/):
//
//	dispatcher: shmget(IPC_PRIVATE, size, 0600)   Create
//	            shmat(id)                          Create
//	            shmctl(id, IPC_RMID)               Create, at once
//	worker:     shmat(id)  (id from its command line; attachments do not survive exec)
//	everyone:   shmdt at exit; the kernel frees the segment when the last
//	            process detaches, even after kill -9, because it was marked
//	            IPC_RMID before anyone could crash.
//
// The layout, every offset 8-byte aligned (docs/shm.md draws it):
//
//	segment header (64 bytes)
//	  0  magic     "OSPSSHM1"
//	  8  version   1
//	 16  nslots    number of worker slots
//	 24  datasize  bytes in each slot's data area (--slot-size)
//	 32  stride    bytes from one slot to the next
//	slot i at 64 + i*stride (SlotHeader bytes of fields, then the data area)
//	  0  state      atomic: starting, idle, busy, dead
//	  8  pid        atomic: the worker's pid
//	 16  heartbeat  atomic: unix nanoseconds of the worker's last sign of life
//	 24  served     atomic: requests served by the slot's current process
//	 32  restarts   atomic: times the slot's worker was restarted
//	 40  total      atomic: requests served in the slot, by every process
//	 48  ticket     32 bytes, v2/v3 ticket in hex
//	 80  client ip  16 bytes (IPv4 mapped in IPv6), v2: where the worker dials
//	 96  client port
//	104  worker ip  16 bytes, v3: where the worker listens
//	120  worker port
//	128  reqlen     length of the request line
//	136  request    1024 bytes, the request line
//	1160 replyn     payload length of the reply, -1 for an error reply
//	1168 errlen     length of the error line
//	1176 err        256 bytes, the error line "ERR code text"
//	1432 proof      32 bytes, the second secret: v2, what the client sends back to
//	                the worker; v3, the key with which the worker proves itself
//	2048 data       datasize bytes: the payload travels here, one chunk at a time
//
// Fields marked atomic are read without a message (STATS, the watchdog)
// and go through sync/atomic. The others are written by one side and
// then announced by a pipe message (package pingpong): the reader of the
// pipe sees them after its read, the pipe write and read order them.
package shm
