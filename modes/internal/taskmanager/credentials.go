package taskmanager

import "github.com/spindle-yarn/spindle/modes/internal/control"

// updateCredentials hands pushed credentials to Config.Credentials. A
// failure is logged, not fatal: the subtasks keep the tokens they have,
// and fail with the NameNode's word should those expire.
func (t *TaskManager) updateCredentials(u *control.CredentialsUpdate) {
	if t.cfg.Credentials == nil {
		t.log.Warn("the JobManager pushed credentials, but this TaskManager has no use for them")
		return
	}
	if err := t.cfg.Credentials(u.Tokens); err != nil {
		t.log.Error("switching to the pushed credentials", "err", err)
		return
	}
	t.log.Info("switched to the pushed credentials", "bytes", len(u.Tokens))
}
