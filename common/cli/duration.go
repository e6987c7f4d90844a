// duration.go is the duration flag that refuses a bad value where it is
// parsed: a duration flag that must be positive fails the command line
// with a usage error, instead of a server that starts and then misbehaves.

package cli

import (
	"fmt"
	"time"
)

// PositiveDuration is a pflag.Value for a duration that must be > 0:
//
//	d := 5 * time.Second
//	fs.Var((*cli.PositiveDuration)(&d), "callback-timeout", "...")
type PositiveDuration time.Duration

func (d *PositiveDuration) String() string { return time.Duration(*d).String() }

// Type is the word pflag shows in the usage.
func (d *PositiveDuration) Type() string { return "duration" }

// Set parses s and refuses zero and negative durations.
func (d *PositiveDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("must be positive, got %v", v)
	}
	*d = PositiveDuration(v)
	return nil
}
