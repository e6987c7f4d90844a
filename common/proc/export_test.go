// Accessors of Handle that only the tests need.

package proc

// Exited is closed once the worker has been reaped.
func (w *Handle) Exited() <-chan struct{} { return w.exited }

// Status is the process's exit status, valid once Exited is closed.
func (w *Handle) Status() error { return w.status }
