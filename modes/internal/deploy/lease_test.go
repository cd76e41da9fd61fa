package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestClientLeaseFrom(t *testing.T) {
	for _, tc := range []struct {
		config  map[string]string
		want    time.Duration
		wantErr string
	}{
		{config: nil, want: DefaultClientLease},
		{config: map[string]string{ClientLeaseKey: "5000"}, want: 5 * time.Second},
		{config: map[string]string{ClientLeaseKey: " 0 "}, want: 0},
		{config: map[string]string{ClientLeaseKey: "500"}, wantErr: "at least 1000 ms"},
		{config: map[string]string{ClientLeaseKey: "-1"}, wantErr: "give the milliseconds"},
		{config: map[string]string{ClientLeaseKey: "1m"}, wantErr: "e.g. -D client.heartbeat.timeout=60000"},
	} {
		got, err := ClientLeaseFrom(tc.config)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ClientLeaseFrom(%v) = %v, %v; want an error containing %q", tc.config, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ClientLeaseFrom(%v) = %v, %v; want %v", tc.config, got, err, tc.want)
		}
	}
}
