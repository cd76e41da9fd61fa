package ipc

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRemoteErrorIs(t *testing.T) {
	sentinels := []error{
		ErrStandby, ErrRetriable, ErrInvalidToken, ErrAccessControl, ErrUnauthorized,
	}
	for _, tc := range []struct {
		class string
		code  ErrorCode
		want  []error
	}{
		{"org.apache.hadoop.ipc.StandbyException", ErrorApplication, []error{ErrStandby}},
		{"org.apache.hadoop.ipc.RetriableException", ErrorApplication, []error{ErrRetriable}},
		{"org.apache.hadoop.security.token.SecretManager$InvalidToken", ErrorApplication, []error{ErrInvalidToken}},
		{"org.apache.hadoop.security.AccessControlException", FatalUnauthorized, []error{ErrAccessControl, ErrUnauthorized}},
		{"org.apache.hadoop.security.authorize.AuthorizationException", ErrorApplication, []error{ErrAccessControl}},
		{"javax.security.sasl.SaslException", FatalUnauthorized, []error{ErrUnauthorized}},
		{"org.apache.hadoop.yarn.exceptions.YarnException", ErrorApplication, nil},
		// YARN's own exceptions are package yarn's to map.
		{"org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException", ErrorApplication, nil},
		{"org.apache.hadoop.ipc.StandbyExceptionX", ErrorApplication, nil},
	} {
		t.Run(tc.class, func(t *testing.T) {
			err := fmt.Errorf("context: %w", newRemoteError("m", tc.class, "msg", tc.code, false))
			var got []error
			for _, s := range sentinels {
				if errors.Is(err, s) {
					got = append(got, s)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("matched sentinels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoteErrorMessage(t *testing.T) {
	e := newRemoteError("getApplicationReport", "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException",
		"Application with id 'application_1_0001' doesn't exist in RM.\n\tat org.apache.hadoop.yarn.server.X(X.java:1)\n", ErrorApplication, false)
	want := &RemoteError{
		Method:      "getApplicationReport",
		Class:       "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException",
		Message:     "Application with id 'application_1_0001' doesn't exist in RM.",
		FullMessage: "Application with id 'application_1_0001' doesn't exist in RM.\n\tat org.apache.hadoop.yarn.server.X(X.java:1)\n",
		Code:        ErrorApplication,
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, want := e.Error(), "ipc: getApplicationReport: org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException: Application with id 'application_1_0001' doesn't exist in RM. (ERROR_APPLICATION)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := ErrorCode(99).String(); got != "ErrorCode(99)" {
		t.Errorf("unknown code: %q", got)
	}
}

func TestConnErrorUnwraps(t *testing.T) {
	re := newRemoteError("", "org.apache.hadoop.security.AccessControlException", "no", FatalUnauthorized, true)
	err := fmt.Errorf("call: %w", &ConnError{Addr: "h:1", Op: "read", Err: re})
	var got *RemoteError
	if !errors.As(err, &got) || got != re || !errors.Is(err, ErrUnauthorized) {
		t.Errorf("%v does not unwrap to its RemoteError", err)
	}
	if !errors.Is(&ConnError{Addr: "h:1", Op: "read", Err: io.EOF}, io.EOF) {
		t.Error("ConnError does not unwrap to io.EOF")
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&ConnError{Op: "dial", Err: errors.New("refused")}, true},
		{&ConnError{Op: "read", Err: io.EOF}, true},
		{&ConnError{Op: "write", Err: io.ErrClosedPipe}, true},
		{&ConnError{Op: "handshake", Err: io.ErrUnexpectedEOF}, true},
		{&ConnError{Op: "idle", Err: errIdle}, true},
		{&ConnError{Op: "sasl", Err: errors.New("mechanism failed")}, false},
		{&ConnError{Op: "read", Err: protocolErrorf("bad")}, false},
		{&ConnError{Op: "close", Err: ErrClosed}, false},
		{&ConnError{Op: "read", Err: newRemoteError("", "X", "fatal", FatalDeserializingRequest, true)}, false},
		{&ConnError{Op: "sasl", Err: newRemoteError("", "javax.security.sasl.SaslException",
			"GSS initiate failed [Caused by GSSException: Failure unspecified at GSS-API level (Mechanism level: Request is a replay (34))]", FatalUnknown, true)}, true},
		{&ConnError{Op: "sasl", Err: fmt.Errorf("%w: no", ErrUnauthorized)}, false},
		{newRemoteError("m", "X", "y", ErrorApplication, false), false},
		{errors.New("plain"), false},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
