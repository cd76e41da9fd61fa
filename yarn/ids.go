package yarn

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// An ApplicationID names an application: the ResourceManager's start time
// (ms since the epoch) and a sequence number it hands out from 1. The zero
// value means "no application".
type ApplicationID struct {
	ClusterTimestamp int64
	ID               int32
}

// IsZero reports whether a is the zero ApplicationID.
func (a ApplicationID) IsZero() bool { return a == ApplicationID{} }

// String returns Hadoop's form, application_<timestamp>_<id>, with the id
// zero-padded to at least four digits (application_1700000000000_0007).
func (a ApplicationID) String() string {
	return "application_" + strconv.FormatInt(a.ClusterTimestamp, 10) + "_" + pad(int64(a.ID), 4)
}

// ParseApplicationID parses application_<timestamp>_<id>. Like Hadoop it
// accepts ids with or without zero padding.
func ParseApplicationID(s string) (ApplicationID, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 3 || parts[0] != "application" {
		return ApplicationID{}, &IDError{Kind: "application", Input: s}
	}
	a, err := parseAppParts(parts[1], parts[2])
	if err != nil {
		return ApplicationID{}, &IDError{Kind: "application", Input: s, Err: err}
	}
	return a, nil
}

// An ApplicationAttemptID names one attempt (from 1) to run an
// application's ApplicationMaster. The zero value means "no attempt".
type ApplicationAttemptID struct {
	Application ApplicationID
	Attempt     int32
}

// IsZero reports whether a is the zero ApplicationAttemptID.
func (a ApplicationAttemptID) IsZero() bool { return a == ApplicationAttemptID{} }

// String returns Hadoop's form, appattempt_<timestamp>_<app>_<attempt>, the
// application id padded to four digits and the attempt to six
// (appattempt_1700000000000_0007_000001).
func (a ApplicationAttemptID) String() string {
	return "appattempt_" + strconv.FormatInt(a.Application.ClusterTimestamp, 10) + "_" +
		pad(int64(a.Application.ID), 4) + "_" + pad(int64(a.Attempt), 6)
}

// ParseApplicationAttemptID parses appattempt_<timestamp>_<app>_<attempt>.
func ParseApplicationAttemptID(s string) (ApplicationAttemptID, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 4 || parts[0] != "appattempt" {
		return ApplicationAttemptID{}, &IDError{Kind: "application attempt", Input: s}
	}
	a, err := parseAttemptParts(parts[1], parts[2], parts[3])
	if err != nil {
		return ApplicationAttemptID{}, &IDError{Kind: "application attempt", Input: s, Err: err}
	}
	return a, nil
}

// containerSequenceBits is how many low bits of a container id hold its
// sequence number; the bits above hold the ResourceManager's epoch, which
// grows with every RM restart under work-preserving recovery.
const containerSequenceBits = 40

// A ContainerID names a container of an application attempt. ID is the
// number as Hadoop sends it: the sequence within the attempt in the low 40
// bits and the ResourceManager epoch above them. The zero value means "no
// container".
type ContainerID struct {
	Attempt ApplicationAttemptID
	ID      int64
}

// IsZero reports whether c is the zero ContainerID.
func (c ContainerID) IsZero() bool { return c == ContainerID{} }

// Sequence is the container's number within its attempt (ID without the
// epoch).
func (c ContainerID) Sequence() int64 { return c.ID & (1<<containerSequenceBits - 1) }

// Epoch is the ResourceManager epoch the container was allocated in, 0
// before the first RM restart.
func (c ContainerID) Epoch() int64 { return c.ID >> containerSequenceBits }

// String returns Hadoop's form,
// container_[e<epoch>_]<timestamp>_<app>_<attempt>_<sequence>, with the
// epoch part only when the epoch is positive, the epoch and attempt padded to
// two digits, the application to four and the sequence to six
// (container_e05_1700000000000_0007_01_000042).
func (c ContainerID) String() string {
	var b strings.Builder
	b.WriteString("container_")
	if e := c.Epoch(); e > 0 {
		b.WriteString("e")
		b.WriteString(pad(e, 2))
		b.WriteString("_")
	}
	b.WriteString(strconv.FormatInt(c.Attempt.Application.ClusterTimestamp, 10))
	b.WriteString("_")
	b.WriteString(pad(int64(c.Attempt.Application.ID), 4))
	b.WriteString("_")
	b.WriteString(pad(int64(c.Attempt.Attempt), 2))
	b.WriteString("_")
	b.WriteString(pad(c.Sequence(), 6))
	return b.String()
}

// ParseContainerID parses both of Hadoop's forms,
// container_<timestamp>_<app>_<attempt>_<sequence> and
// container_e<epoch>_<timestamp>_<app>_<attempt>_<sequence>.
func ParseContainerID(s string) (ContainerID, error) {
	bad := func(err error) (ContainerID, error) {
		return ContainerID{}, &IDError{Kind: "container", Input: s, Err: err}
	}
	parts := strings.Split(s, "_")
	if len(parts) < 1 || parts[0] != "container" {
		return bad(nil)
	}
	parts = parts[1:]
	var epoch int64
	if len(parts) == 5 && strings.HasPrefix(parts[0], "e") {
		e, err := strconv.ParseInt(parts[0][1:], 10, 32)
		if err != nil {
			return bad(err)
		}
		if e < 0 || e >= 1<<(63-containerSequenceBits) {
			return bad(fmt.Errorf("epoch %d out of range", e))
		}
		epoch, parts = e, parts[1:]
	}
	if len(parts) != 4 {
		return bad(nil)
	}
	att, err := parseAttemptParts(parts[0], parts[1], parts[2])
	if err != nil {
		return bad(err)
	}
	seq, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return bad(err)
	}
	if seq < 0 {
		return bad(fmt.Errorf("negative sequence %d", seq))
	}
	if epoch > 0 && seq >= 1<<containerSequenceBits {
		return bad(fmt.Errorf("sequence %d does not fit in %d bits beside an epoch", seq, containerSequenceBits))
	}
	return ContainerID{Attempt: att, ID: epoch<<containerSequenceBits | seq}, nil
}

// A NodeID names a NodeManager by the host and port of its RPC server
// (ContainerManagementProtocol). It is also the key NMTokens are issued
// under. The zero value means "no node".
type NodeID struct {
	Host string
	Port int32
}

// IsZero reports whether n is the zero NodeID.
func (n NodeID) IsZero() bool { return n == NodeID{} }

// String returns host:port, as Hadoop writes it (no brackets around an
// IPv6 host, matching NodeId.toString).
func (n NodeID) String() string { return n.Host + ":" + strconv.Itoa(int(n.Port)) }

// Addr returns the address to dial: host:port with an IPv6 host in
// brackets.
func (n NodeID) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(int(n.Port))) }

// ParseNodeID parses host:port (the port after the last colon).
func ParseNodeID(s string) (NodeID, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return NodeID{}, &IDError{Kind: "node", Input: s}
	}
	port, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil {
		return NodeID{}, &IDError{Kind: "node", Input: s, Err: err}
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	return NodeID{Host: host, Port: int32(port)}, nil
}

// An IDError reports a string that is not a YARN id of the expected kind.
type IDError struct {
	Kind  string // "application", "application attempt", "container" or "node"
	Input string
	Err   error // the number that failed to parse, if that was the problem
}

func (e *IDError) Error() string {
	msg := fmt.Sprintf("yarn: invalid %s id %q", e.Kind, e.Input)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *IDError) Unwrap() error { return e.Err }

func parseAppParts(ts, id string) (ApplicationID, error) {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ApplicationID{}, err
	}
	n, err := strconv.ParseInt(id, 10, 32)
	if err != nil {
		return ApplicationID{}, err
	}
	return ApplicationID{ClusterTimestamp: t, ID: int32(n)}, nil
}

func parseAttemptParts(ts, app, attempt string) (ApplicationAttemptID, error) {
	a, err := parseAppParts(ts, app)
	if err != nil {
		return ApplicationAttemptID{}, err
	}
	n, err := strconv.ParseInt(attempt, 10, 32)
	if err != nil {
		return ApplicationAttemptID{}, err
	}
	return ApplicationAttemptID{Application: a, Attempt: int32(n)}, nil
}

// pad formats n in decimal with at least width digits. Like Hadoop's id
// formatting, a negative number gets its sign in front of width digits
// (-0001), the sign not counting toward the width.
func pad(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	if neg {
		s = "-" + s
	}
	return s
}
