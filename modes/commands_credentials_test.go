package modes

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestParseCredentialsPush: `credentials push -id APPID` with the login
// flags parses, and with -session and -job; without push, or without -id, the error says what to type.
func TestParseCredentialsPush(t *testing.T) {
	c, err := parseCommand("wc", []string{"credentials", "push", "-id", "application_1700000000000_0007", "-keytab", "k", "-principal", "alice@R"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.name != cmdCredentials || c.id.String() != "application_1700000000000_0007" || c.keytab != "k" || c.principal != "alice@R" {
		t.Errorf("parsed %+v", c)
	}
	if c, err := parseCommand("wc", []string{"credentials", "push", "-session", "etl"}, io.Discard); err != nil || c.session != "etl" {
		t.Errorf("credentials push -session etl: %+v %v", c, err)
	}
	if c, err := parseCommand("wc", []string{"credentials", "push", "-session", "etl", "-job", "job-3"}, io.Discard); err != nil || c.session != "etl" || c.job != "job-3" {
		t.Errorf("credentials push -session etl -job job-3: %+v %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"credentials"}, "wc credentials push -id APPID"},
		{[]string{"credentials", "pull", "-id", "application_1700000000000_0007"}, "wc credentials push -id APPID"},
		{[]string{"credentials", "push"}, "-id or -session is required"},
	} {
		_, err := parseCommand("wc", tc.args, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want a usage error saying %q", tc.args, err, tc.want)
		}
	}
	if !isCommand("credentials") || !strings.Contains(commandsUsage("wc"), "wc credentials push -id APPID") {
		t.Error("credentials is not listed as a command")
	}
}
