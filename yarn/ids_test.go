package yarn

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplicationIDString(t *testing.T) {
	tests := []struct {
		id   ApplicationID
		want string
	}{
		{ApplicationID{1700000000000, 7}, "application_1700000000000_0007"},
		{ApplicationID{1, 12345678}, "application_1_12345678"},
		{ApplicationID{1, -1}, "application_1_-0001"},
		{ApplicationID{}, "application_0_0000"},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestParseApplicationID(t *testing.T) {
	tests := []struct {
		in      string
		want    ApplicationID
		wantErr bool
	}{
		{in: "application_1700000000000_0007", want: ApplicationID{1700000000000, 7}},
		{in: "application_1_1", want: ApplicationID{1, 1}},
		{in: "application_1_12345678", want: ApplicationID{1, 12345678}},
		{in: "application_1_2_3", wantErr: true},
		{in: "app_1_2", wantErr: true},
		{in: "application_x_2", wantErr: true},
		{in: "application_1_99999999999", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseApplicationID(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseApplicationID(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		var idErr *IDError
		if err != nil && !errors.As(err, &idErr) {
			t.Errorf("ParseApplicationID(%q) error %T is not *IDError", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseApplicationID(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestApplicationAttemptIDRoundTrip(t *testing.T) {
	id := ApplicationAttemptID{ApplicationID{1700000000000, 7}, 3}
	const want = "appattempt_1700000000000_0007_000003"
	if got := id.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	back, err := ParseApplicationAttemptID(want)
	if err != nil || back != id {
		t.Fatalf("ParseApplicationAttemptID(%q) = %#v, %v; want %#v", want, back, err, id)
	}
	for _, bad := range []string{"appattempt_1_2", "appattempt_1_2_3_4", "attempt_1_2_3", "appattempt_1_2_x"} {
		if _, err := ParseApplicationAttemptID(bad); err == nil {
			t.Errorf("ParseApplicationAttemptID(%q) succeeded", bad)
		}
	}
}

func TestContainerIDStringAndParse(t *testing.T) {
	att := ApplicationAttemptID{ApplicationID{1700000000000, 7}, 3}
	tests := []struct {
		id   ContainerID
		want string
	}{
		{ContainerID{att, 42}, "container_1700000000000_0007_03_000042"},
		{ContainerID{att, 5<<40 | 42}, "container_e05_1700000000000_0007_03_000042"},
		{ContainerID{att, 123<<40 | 1234567}, "container_e123_1700000000000_0007_03_1234567"},
		{ContainerID{ApplicationAttemptID{ApplicationID{1410901177871, 1}, 1}, 18691697672197}, "container_e17_1410901177871_0001_01_000005"},
		// All 64 bits set: Java's arithmetic shift gives epoch -1, which it
		// does not print.
		{ContainerID{ApplicationAttemptID{ApplicationID{1, 123456}, 1234}, -1}, "container_1_123456_1234_1099511627775"},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.id, got, tt.want)
		}
		if tt.id.ID < 0 {
			continue // not representable in Hadoop's string form
		}
		back, err := ParseContainerID(tt.want)
		if err != nil {
			t.Errorf("ParseContainerID(%q): %v", tt.want, err)
			continue
		}
		if diff := cmp.Diff(tt.id, back); diff != "" {
			t.Errorf("ParseContainerID(%q) mismatch (-want +got):\n%s", tt.want, diff)
		}
	}
}

func TestContainerIDEpochAndSequence(t *testing.T) {
	c := ContainerID{ID: 17<<40 | 5}
	if c.Epoch() != 17 || c.Sequence() != 5 {
		t.Fatalf("Epoch, Sequence = %d, %d; want 17, 5", c.Epoch(), c.Sequence())
	}
}

func TestParseContainerIDLenientAndErrors(t *testing.T) {
	// Hadoop accepts unpadded numbers and an explicit zero epoch.
	for in, want := range map[string]string{
		"container_1_2_3_4":    "container_1_0002_03_000004",
		"container_e0_1_2_3_4": "container_1_0002_03_000004",
	} {
		id, err := ParseContainerID(in)
		if err != nil {
			t.Errorf("ParseContainerID(%q): %v", in, err)
			continue
		}
		if got := id.String(); got != want {
			t.Errorf("ParseContainerID(%q).String() = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{
		"", "container", "container_1_2_3", "container_1_0001_01_000001_extra",
		"container_ex_1_2_3_4", "container_e1_1_2_3", "application_1_2", "container_1_2_3_x",
		"container_e5_1_2_3_1099511627776", // sequence overflows into the epoch
		"container_e8388608_1_2_3_4",       // epoch beyond 23 bits
	} {
		if id, err := ParseContainerID(bad); err == nil {
			t.Errorf("ParseContainerID(%q) = %v, want an error", bad, id)
		}
	}
}

func TestNodeID(t *testing.T) {
	tests := []struct {
		in         string
		want       NodeID
		wantString string
		wantAddr   string
	}{
		{"nm1.example.com:45454", NodeID{"nm1.example.com", 45454}, "nm1.example.com:45454", "nm1.example.com:45454"},
		{"::1:8041", NodeID{"::1", 8041}, "::1:8041", "[::1]:8041"},
		{"[::1]:8041", NodeID{"::1", 8041}, "::1:8041", "[::1]:8041"},
	}
	for _, tt := range tests {
		got, err := ParseNodeID(tt.in)
		if err != nil {
			t.Errorf("ParseNodeID(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want || got.String() != tt.wantString || got.Addr() != tt.wantAddr {
			t.Errorf("ParseNodeID(%q) = %#v (String %q, Addr %q), want %#v (%q, %q)",
				tt.in, got, got.String(), got.Addr(), tt.want, tt.wantString, tt.wantAddr)
		}
	}
	for _, bad := range []string{"", "host", ":1", "host:x", "host:99999999999"} {
		if _, err := ParseNodeID(bad); err == nil {
			t.Errorf("ParseNodeID(%q) succeeded", bad)
		}
	}
}

func TestPad(t *testing.T) {
	for _, tt := range []struct {
		n     int64
		width int
		want  string
	}{
		{7, 4, "0007"}, {12345, 4, "12345"}, {-1, 4, "-0001"}, {0, 6, "000000"},
		{math.MinInt64, 2, "-9223372036854775808"},
	} {
		if got := pad(tt.n, tt.width); got != tt.want {
			t.Errorf("pad(%d, %d) = %q, want %q", tt.n, tt.width, got, tt.want)
		}
	}
}

func FuzzParseContainerID(f *testing.F) {
	for _, s := range []string{"container_1_0001_01_000001", "container_e17_1410901177871_0001_01_000005", "container_e0_1_2_3_4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseContainerID(s)
		if err != nil {
			return
		}
		// Whatever parses prints in canonical form and parses back to the
		// same id.
		back, err := ParseContainerID(id.String())
		if err != nil || back != id {
			t.Fatalf("ParseContainerID(%q) = %v; reparse of %q = %v, %v", s, id, id.String(), back, err)
		}
	})
}
