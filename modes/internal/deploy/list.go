package deploy

import (
	"context"

	"github.com/spindle-yarn/spindle/yarn"
)

// ListApplications lists the cluster's applications of type appType
// (ApplicationType for Spindle's; empty for every type), as cfg's user
// sees them.
func ListApplications(ctx context.Context, cfg yarn.Config, appType string) ([]yarn.ApplicationReport, error) {
	rm, err := yarn.NewRMClient(cfg)
	if err != nil {
		return nil, err
	}
	defer rm.Close()
	var f yarn.ApplicationFilter
	if appType != "" {
		f.Types = []string{appType}
	}
	return rm.Applications(ctx, f)
}
