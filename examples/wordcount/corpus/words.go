// Package corpus makes the text examples/wordcount counts and the counts
// it must find: Generate writes a deterministic corpus of Zipf-distributed
// words, and Count counts any text's words locally, with the same
// tokenizer (Tokenizer) as the wordcount operators, so a job's output can
// be checked against it.
package corpus

import (
	"bufio"
	"io"
	"unicode"
	"unicode/utf8"
)

// A Tokenizer splits text into words: runs of Unicode letters and digits
// (unicode.IsLetter, unicode.IsDigit), lowercased rune by rune
// (unicode.ToLower); every other rune, and every byte that is not valid
// UTF-8, separates words. The zero value is ready; a Tokenizer keeps a
// buffer between calls and belongs to one goroutine.
type Tokenizer struct {
	buf []byte
}

// Classes of bytes, for the ASCII fast path of Words.
const (
	notASCII   = iota
	asciiLower // a lowercase letter or a digit
	asciiUpper
	asciiSeparator
)

var asciiClass = func() (t [256]uint8) {
	for c := range utf8.RuneSelf {
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			t[c] = asciiLower
		case 'A' <= c && c <= 'Z':
			t[c] = asciiUpper
		default:
			t[c] = asciiSeparator
		}
	}
	return t
}()

// Words calls f with each word of text, in order. word is valid only
// during the call: it is text itself where the word is lowercase already,
// else the Tokenizer's buffer.
func (tk *Tokenizer) Words(text []byte, f func(word []byte)) {
	start := -1   // where the current word began; -1 between words
	lower := true // text[start:i] is lowercase already
	for i := 0; i < len(text); {
		switch asciiClass[text[i]] {
		case asciiLower:
			if start < 0 {
				start, lower = i, true
			}
			i++
			continue
		case asciiUpper:
			if start < 0 {
				start = i
			}
			lower = false
			i++
			continue
		case asciiSeparator:
			if start >= 0 {
				tk.emit(text[start:i], lower, f)
				start = -1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if start < 0 {
				start, lower = i, true
			}
			if lower && unicode.ToLower(r) != r {
				lower = false
			}
		} else if start >= 0 {
			tk.emit(text[start:i], lower, f)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		tk.emit(text[start:], lower, f)
	}
}

// emit calls f with word lowercased.
func (tk *Tokenizer) emit(word []byte, lower bool, f func([]byte)) {
	if lower {
		f(word)
		return
	}
	b := tk.buf[:0]
	for i := 0; i < len(word); {
		if c := word[i]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(word[i:])
		b = utf8.AppendRune(b, unicode.ToLower(r))
		i += size
	}
	tk.buf = b
	f(b)
}

// Count returns how many times each word occurs in the text r reads, as
// the wordcount job counts them: the text is read line by line (lines end
// at "\n") and each line split by a Tokenizer.
func Count(r io.Reader) (map[string]int64, error) {
	counts := map[string]int64{}
	var tk Tokenizer
	add := func(w []byte) { counts[string(w)]++ }
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte // a line longer than br's buffer
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		tk.Words(line, add)
		if err == io.EOF {
			return counts, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
