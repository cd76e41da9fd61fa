package hdfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrApplicationID is matched by the error of a staging call given
// something other than an application id in the ResourceManager's form.
var ErrApplicationID = errors.New("hdfs: not an application id")

// checkAppID refuses anything but an application id as the
// ResourceManager writes it, application_<cluster timestamp>_<sequence>
// with the sequence padded to four digits (yarn.ApplicationID's String):
// the staging directory is named after it, and Sweep, Evict and the
// ApplicationMaster find the directory by that name. This package does
// not import yarn (yarn imports it), so it checks the text.
func checkAppID(op, id string) error {
	if !validAppID(id) {
		return &PathError{Op: op, Path: id, Err: fmt.Errorf("%w: want application_<cluster timestamp>_<sequence>, e.g. application_1700000000000_0001, as yarn.ApplicationID's String gives it", ErrApplicationID)}
	}
	return nil
}

// validAppID reports whether id is an application id in canonical form.
func validAppID(id string) bool {
	rest, ok := strings.CutPrefix(id, "application_")
	if !ok {
		return false
	}
	ts, seq, ok := strings.Cut(rest, "_")
	if !ok || !canonicalDecimal(ts, 1, 63) || !canonicalDecimal(seq, 4, 31) {
		return false
	}
	return true
}

// canonicalDecimal reports whether s is a non-negative number below
// 2^bits written with at least minDigits digits and no more leading zeros
// than that padding needs.
func canonicalDecimal(s string, minDigits, bits int) bool {
	if len(s) < minDigits || (len(s) > minDigits && s[0] == '0') {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(s, 10, bits+1)
	return err == nil
}
