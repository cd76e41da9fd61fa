package cli

import (
	"flag"
	"fmt"
	"regexp"
	"time"
)

// SessionFlags are the flags of `session start` besides the run flags
// that size and place its containers.
type SessionFlags struct {
	MinTaskManagers, MaxTaskManagers, MaxTaskManagersPerJob int
	IdleTimeout                                             time.Duration
}

// NewSessionFlags registers the session flags on fs.
func NewSessionFlags(fs *flag.FlagSet) *SessionFlags {
	f := &SessionFlags{}
	fs.IntVar(&f.MinTaskManagers, "min-taskmanagers", 1, "TaskManagers the session keeps even when idle")
	fs.IntVar(&f.MaxTaskManagers, "max-taskmanagers", 8, "TaskManagers the session holds at most; jobs beyond wait in order")
	fs.IntVar(&f.MaxTaskManagersPerJob, "max-taskmanagers-per-job", 0, "TaskManagers one job may hold (0: -max-taskmanagers)")
	fs.DurationVar(&f.IdleTimeout, "idle-timeout", 5*time.Minute, "idle TaskManagers beyond -min-taskmanagers are released after this long (0: kept)")
	return f
}

// sessionName is what YARN keeps of a tag intact: lowercase letters,
// digits, '-', '_' and '.'.
var sessionName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidateSession checks the session's name (-name) and flags.
func (f *SessionFlags) ValidateSession(name string) error {
	if !sessionName.MatchString(name) {
		return fmt.Errorf("-name %q: a session needs a name of lowercase letters, digits, '.', '_' and '-' (at most 63), e.g. -name analytics", name)
	}
	if f.MinTaskManagers < 0 {
		return fmt.Errorf("-min-taskmanagers must be at least 0, got %d", f.MinTaskManagers)
	}
	if f.MaxTaskManagers < 1 {
		return fmt.Errorf("-max-taskmanagers must be at least 1, got %d", f.MaxTaskManagers)
	}
	if f.MinTaskManagers > f.MaxTaskManagers {
		return fmt.Errorf("-min-taskmanagers %d exceeds -max-taskmanagers %d; lower the one or raise the other", f.MinTaskManagers, f.MaxTaskManagers)
	}
	if f.MaxTaskManagersPerJob < 0 || f.MaxTaskManagersPerJob > f.MaxTaskManagers {
		return fmt.Errorf("-max-taskmanagers-per-job %d must be between 0 and -max-taskmanagers %d", f.MaxTaskManagersPerJob, f.MaxTaskManagers)
	}
	if f.IdleTimeout < 0 {
		return fmt.Errorf("-idle-timeout must not be negative, got %s", f.IdleTimeout)
	}
	return nil
}
