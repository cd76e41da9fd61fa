package hdfs

import (
	"context"
	"errors"
	"io/fs"
)

// RemoveStaging deletes an application's staging directory with
// everything in it. A directory already gone is not an error.
//
// Call it when the application has reached a final state: from the
// ApplicationMaster once it has unregistered (or on its last attempt),
// and from the client when the submission failed or when it saw the
// application end (killed applications get no say). It needs only
// namespace access, so a Client holding just the application's delegation
// tokens can do it inside a container.
func (c *Client) RemoveStaging(ctx context.Context, appID string) error {
	if err := checkAppID(appID); err != nil {
		return err
	}
	err := c.Remove(ctx, c.StagingDir(appID), true)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	c.log.Debug("hdfs: removed staging directory", "dir", c.StagingDir(appID))
	return nil
}
