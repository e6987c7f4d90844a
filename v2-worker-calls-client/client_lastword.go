// The client reads two connections at once: while it waits for the
// worker's call-back, the dispatcher's last word on the request (DONE or
// ERR) may come first on the session, so the client reads the session in
// the background and waits for whichever comes.

package main

import (
	"osps/common/client"
	"osps/common/wire"
)

// lastWord is the session's last word on a request, DONE or ERR, read in
// the background: it may come before any call-back (ERR: the worker could
// not reach us), so the client waits for both at once.
type lastWord struct {
	ch  chan final
	got *final
}

type final struct {
	r   wire.Reply
	err error
}

func readLastWord(c *client.Client) *lastWord {
	lw := &lastWord{ch: make(chan final, 1)}
	go func() {
		r, err := client.ReadReply(c.R)
		lw.ch <- final{r, err}
	}()
	return lw
}

// wait returns the last word, waiting for it the first time.
func (lw *lastWord) wait() final {
	if lw.got == nil {
		f := <-lw.ch
		lw.got = &f
	}
	return *lw.got
}
