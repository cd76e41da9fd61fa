package cli

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestShipKeytabNeedsKeytab(t *testing.T) {
	for _, c := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-t", TargetApplication, "-ship-keytab"}, "-ship-keytab needs -keytab"},
		{[]string{"-t", TargetApplication, "-ship-keytab", "-keytab", "a.keytab", "-principal", "alice"}, ""},
	} {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := NewRunFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		err := f.Validate()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%v: Validate() = %v, want %q", c.args, err, c.wantErr)
		}
		if c.wantErr == "" && !f.ShipKeytab {
			t.Errorf("%v: ShipKeytab not set", c.args)
		}
	}
}
