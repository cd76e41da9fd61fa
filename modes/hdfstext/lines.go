package hdfstext

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineBuffer is the size of the buffer a split is read through.
const lineBuffer = 1 << 20

// slabSize is the size of the blocks emitted lines are copied into: one
// allocation serves many short lines.
const slabSize = 64 << 10

// errLineTooLong is wrapped when a line exceeds max-line-bytes.
var errLineTooLong = errors.New("line too long")

// splitStart is where reading a split that starts at start begins: one
// byte early, to see whether a line starts exactly at start.
func splitStart(start int64) int64 { return max(start-1, 0) }

// splitLinesAt emits the lines of split [start, start+length) of the file r
// reads, by splitLines; tests use it on an in-memory file.
func splitLinesAt(r io.ReaderAt, start, length int64, bufSize, maxLine int, emit func(line []byte) error) (int64, error) {
	from := splitStart(start)
	src := io.NewSectionReader(r, from, 1<<62)
	return splitLines(src, from, start, start+length, bufSize, maxLine, emit)
}

// splitLines emits every line the split [start, end) of a file owns. src
// yields the file's bytes from offset from = splitStart(start) on.
//
// A line (bytes up to and including "\n", or up to the end of the file)
// belongs to the split its first byte is in: a split not starting at 0
// looks at the byte before start and, unless it is "\n", skips the partial
// line it starts in; it reads lines while they start before end, the last
// one past end if it must. Every line of the file is thus emitted by
// exactly one split of any cut of the file into ranges.
//
// A line is emitted without its "\n" and one "\r" before it; emit owns it
// (it is not reused). splitLines returns the bytes it read from src. A line
// longer than maxLine bytes fails with errLineTooLong, naming its offset.
func splitLines(src io.Reader, from, start, end int64, bufSize, maxLine int, emit func(line []byte) error) (int64, error) {
	br := bufio.NewReaderSize(src, bufSize)
	pos := from
	if start > 0 {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		pos++
		if b != '\n' {
			// Skip the rest of the line the previous split reads.
			for {
				chunk, err := br.ReadSlice('\n')
				pos += int64(len(chunk))
				if err == bufio.ErrBufferFull {
					continue
				}
				if err == io.EOF {
					return pos - from, nil
				}
				if err != nil {
					return pos - from, err
				}
				break
			}
		}
	}
	var s slab
	for pos < end {
		at := pos
		line, n, err := readLine(br, maxLine, &s)
		pos += int64(n)
		if err != nil && err != io.EOF {
			if errors.Is(err, errLineTooLong) {
				return pos - from, fmt.Errorf("the line at offset %d is longer than %d bytes (%w)", at, maxLine, err)
			}
			return pos - from, err
		}
		if n == 0 {
			break // end of file
		}
		if eerr := emit(line); eerr != nil {
			return pos - from, eerr
		}
		if err == io.EOF {
			break
		}
	}
	return pos - from, nil
}

// readLine reads one line, returning it without its terminator, copied
// into s, and the bytes it took from br. At the end of the file it returns
// io.EOF, with the last line if it had no "\n".
func readLine(br *bufio.Reader, maxLine int, s *slab) ([]byte, int, error) {
	var long []byte // a line that does not fit br's buffer
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		if err == bufio.ErrBufferFull {
			if len(long)+len(chunk) > maxLine+2 {
				return nil, n, errLineTooLong
			}
			long = append(long, chunk...)
			continue
		}
		if err != nil && err != io.EOF {
			return nil, n, err
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) < len(chunk)+len(long) { // it ended with "\n"
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		if len(line) > maxLine {
			return nil, n, errLineTooLong
		}
		if long != nil {
			return line[:len(line):len(line)], n, err
		}
		return s.own(line), n, err
	}
}

// slab hands out copies of short byte strings from shared blocks.
type slab struct{ buf []byte }

// own returns a copy of b that nothing else writes to.
func (s *slab) own(b []byte) []byte {
	if len(b) > slabSize/8 {
		return bytes.Clone(b)
	}
	if cap(s.buf)-len(s.buf) < len(b) {
		s.buf = make([]byte, 0, slabSize)
	}
	i := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[i:len(s.buf):len(s.buf)]
}
