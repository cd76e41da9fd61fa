package ipc

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestIsFailover(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"standby", &RemoteError{Class: "org.apache.hadoop.ipc.StandbyException"}, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"connection lost", &ConnError{Addr: "rm:8032", Op: "read", Err: errors.New("EOF")}, true},
		{"bad credentials", &ConnError{Addr: "rm:8032", Op: "sasl", Err: ErrUnauthorized}, false},
		{"invalid token", &RemoteError{Class: "org.apache.hadoop.security.token.SecretManager$InvalidToken"}, false},
		{"application error", &RemoteError{Class: "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException"}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsFailover(tt.err); got != tt.want {
			t.Errorf("%s: IsFailover(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
