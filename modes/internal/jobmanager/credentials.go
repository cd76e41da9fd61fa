package jobmanager

import (
	"bytes"

	"github.com/spindle-yarn/spindle/modes/internal/control"
)

// PushCredentials sends the application's fresh credentials (Hadoop's
// binary token storage format) to every live TaskManager, replacing an
// earlier push still waiting for one, and remembers them for TaskManagers
// that register later, whose first command they are. The bytes are copied;
// they never appear in the JobManager's logs or pages.
func (m *JobManager) PushCredentials(creds []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds = &control.CredentialsUpdate{Tokens: bytes.Clone(creds)}
	n := 0
	for _, tm := range m.tms {
		if tm.lost {
			continue
		}
		m.sendCredentials(tm)
		n++
	}
	m.log.Info("credentials pushed to the TaskManagers", "taskmanagers", n, "bytes", len(creds))
	m.broadcast()
}

// sendCredentials queues the last pushed credentials for tm, dropping an
// older push it has not received yet; mu is held.
func (m *JobManager) sendCredentials(tm *taskManager) {
	if m.creds == nil {
		return
	}
	kept := tm.commands[:0]
	for _, c := range tm.commands {
		if c.Credentials == nil {
			kept = append(kept, c)
		}
	}
	tm.commands = kept
	m.send(tm, control.Command{Credentials: m.creds})
}
