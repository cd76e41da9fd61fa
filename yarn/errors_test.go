package yarn

import (
	"errors"
	"fmt"
	"testing"

	"github.com/spindle-yarn/spindle/internal/ipc"
)

func TestRemoteErrorMatchesYARNExceptions(t *testing.T) {
	sentinels := []error{ErrApplicationNotFound, ErrApplicationMasterNotRegistered, ErrInvalidResourceRequest,
		ErrInvalidApplicationMasterRequest, ErrStandby, ErrInvalidToken}
	for class, want := range map[string]error{
		"org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException":             ErrApplicationNotFound,
		"org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException":  ErrApplicationMasterNotRegistered,
		"org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException":          ErrInvalidResourceRequest,
		"org.apache.hadoop.yarn.exceptions.InvalidApplicationMasterRequestException": ErrInvalidApplicationMasterRequest,
		"org.apache.hadoop.yarn.exceptions.YarnException":                            nil,
	} {
		err := fmt.Errorf("op: %w", ipc.NewServiceError(class, "m", "", nil, yarnExceptions))
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == want) {
				t.Errorf("%s: errors.Is(%v) = %v", class, s, got)
			}
		}
	}
	// Over REST the same classes map the same way.
	if s := restSentinel(400, "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException", false); s != ErrInvalidResourceRequest {
		t.Errorf("restSentinel = %v", s)
	}
}
