// Package writable encodes and decodes the primitives of Hadoop's Writable
// serialization that Spindle meets on the wire and in files: the
// variable-length integers of org.apache.hadoop.io.WritableUtils
// (writeVLong/readVLong), length-prefixed byte arrays and Text (a VInt byte
// length followed by the bytes, UTF-8 by convention but not checked).
//
// Encoding appends to a byte slice. Decoding goes through a Reader, which
// counts the bytes it consumes so that callers can say where input went
// wrong, and which never allocates more for a length prefix than the input
// actually delivers: a hostile length of two gigabytes in a short input ends
// in io.ErrUnexpectedEOF after reading what is there, not in an allocation.
//
// A Reader is not safe for concurrent use. Errors: io.ErrUnexpectedEOF when
// input ends inside a value (io.EOF only when it ends before a value's first
// byte), and *LengthError for negative or over-limit lengths and VInts out of
// the 32-bit range.
package writable

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// A VLong whose value lies in [-112, 127] is written as that one byte.
// Otherwise a marker byte comes first: -113..-120 for a non-negative value of
// 1..8 big-endian bytes, -121..-128 for a negative value, whose one's
// complement follows in 1..8 bytes.
const (
	oneByteMin = -112
	oneByteMax = 127
)

// AppendVLong appends v in WritableUtils.writeVLong form.
func AppendVLong(b []byte, v int64) []byte {
	if v >= oneByteMin && v <= oneByteMax {
		return append(b, byte(int8(v)))
	}
	marker := -112
	u := uint64(v)
	if v < 0 {
		u = ^u
		marker = -120
	}
	n := 0
	for t := u; t != 0; t >>= 8 {
		n++
	}
	b = append(b, byte(int8(marker-n)))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(u>>(8*i)))
	}
	return b
}

// AppendVInt appends v in WritableUtils.writeVInt form, which is the VLong
// form of the same value.
func AppendVInt(b []byte, v int32) []byte { return AppendVLong(b, int64(v)) }

// VLongSize is the number of bytes AppendVLong writes for v.
func VLongSize(v int64) int {
	if v >= oneByteMin && v <= oneByteMax {
		return 1
	}
	u := uint64(v)
	if v < 0 {
		u = ^u
	}
	n := 1
	for ; u != 0; u >>= 8 {
		n++
	}
	return n
}

// AppendBytes appends p as a VInt length followed by the bytes, the layout
// Hadoop's Token uses for its identifier and password and Credentials for
// its secrets. p must be shorter than 2 GiB.
func AppendBytes(b, p []byte) []byte {
	b = AppendVInt(b, int32(len(p)))
	return append(b, p...)
}

// AppendText appends s as a Hadoop Text: VInt byte length, then the bytes.
// s must be shorter than 2 GiB.
func AppendText(b []byte, s string) []byte {
	b = AppendVInt(b, int32(len(s)))
	return append(b, s...)
}

// CheckLen reports whether a byte string of length n can be written as a
// Writable (its length must fit a Java int).
func CheckLen(n int) error {
	if n > math.MaxInt32 {
		return &LengthError{Length: int64(n), Limit: math.MaxInt32}
	}
	return nil
}

// ErrLength is matched by every *LengthError.
var ErrLength = errors.New("writable: length out of range")

// LengthError reports a decoded length or VInt outside what the reader
// accepts.
type LengthError struct {
	Length int64 // the decoded value
	Limit  int64 // the largest value allowed
	// Negative is set when the value is below zero (or, for a VInt, below
	// the 32-bit range).
	Negative bool
}

func (e *LengthError) Error() string {
	if e.Negative {
		return fmt.Sprintf("writable: length %d is negative", e.Length)
	}
	return fmt.Sprintf("writable: length %d exceeds the limit of %d", e.Length, e.Limit)
}

// Is makes errors.Is(err, ErrLength) true.
func (e *LengthError) Is(target error) bool { return target == ErrLength }

// byteReader is what a Reader reads from: bytes one at a time for VInts and
// in bulk for payloads.
type byteReader interface {
	io.Reader
	io.ByteReader
}

// Reader decodes Writable primitives from a stream.
type Reader struct {
	r   byteReader
	off int64
}

// NewReader returns a Reader on r. If r is not an io.ByteReader it is
// wrapped in a bufio.Reader, which may read ahead of what is decoded.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(byteReader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Reader{r: br}
}

// NewBytesReader returns a Reader on b that reads nothing beyond it.
func NewBytesReader(b []byte) *Reader { return &Reader{r: bytes.NewReader(b)} }

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Byte reads one byte. It returns io.EOF if the input has ended.
func (r *Reader) Byte() (byte, error) {
	c, err := r.r.ReadByte()
	if err != nil {
		return 0, err
	}
	r.off++
	return c, nil
}

// VLong reads a value written by WritableUtils.writeVLong. Like Java's
// readVLong it accepts non-minimal encodings. It returns io.EOF if the input
// ends before the first byte and io.ErrUnexpectedEOF if it ends after it.
func (r *Reader) VLong() (int64, error) {
	first, err := r.Byte()
	if err != nil {
		return 0, err
	}
	m := int8(first)
	if m >= oneByteMin {
		return int64(m), nil
	}
	negative := m < -120
	n := int(-112 - int(m)) // count of value bytes for a non-negative marker
	if negative {
		n = int(-120 - int(m))
	}
	var u uint64
	for range n {
		c, err := r.Byte()
		if err != nil {
			return 0, unexpected(err)
		}
		u = u<<8 | uint64(c)
	}
	if negative {
		u = ^u
	}
	return int64(u), nil
}

// VInt reads a VLong and checks, as WritableUtils.readVInt does, that it
// fits a Java int.
func (r *Reader) VInt() (int32, error) {
	v, err := r.VLong()
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt32 {
		return 0, &LengthError{Length: v, Limit: math.MaxInt32}
	}
	if v < math.MinInt32 {
		return 0, &LengthError{Length: v, Limit: math.MaxInt32, Negative: true}
	}
	return int32(v), nil
}

// Bytes reads a VInt length and that many bytes. A negative length or one
// above max is a *LengthError; max < 0 means no limit beyond the VInt range.
func (r *Reader) Bytes(max int) ([]byte, error) {
	n, err := r.VInt()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, &LengthError{Length: int64(n), Limit: int64(max), Negative: true}
	}
	if max >= 0 && int64(n) > int64(max) {
		return nil, &LengthError{Length: int64(n), Limit: int64(max)}
	}
	return r.Full(int(n))
}

// Text reads a Hadoop Text. Its bytes are returned as they are; invalid
// UTF-8 is kept, so that writing the string back reproduces the input.
func (r *Reader) Text(max int) (string, error) {
	b, err := r.Bytes(max)
	return string(b), err
}

// chunk bounds what Full allocates ahead of the bytes actually read.
const chunk = 64 << 10

// Full reads exactly n bytes. Up to 64 KiB is allocated at once; beyond that
// the buffer grows only as bytes arrive, so a length prefix larger than the
// input costs no more memory than the input itself. It returns
// io.ErrUnexpectedEOF if the input ends early.
func (r *Reader) Full(n int) ([]byte, error) {
	if n <= chunk {
		b := make([]byte, n)
		k, err := io.ReadFull(r.r, b)
		r.off += int64(k)
		if err != nil {
			return nil, unexpected(err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(chunk)
	k, err := io.CopyN(&buf, r.r, int64(n))
	r.off += k
	if err != nil {
		return nil, unexpected(err)
	}
	return buf.Bytes(), nil
}

// unexpected turns an end of input in the middle of a value into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
