package corpus

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"unicode"
	"unicode/utf8"
)

// VocabularySize is the number of distinct words Generate draws from.
const VocabularySize = 20000

// zipfS is the Zipf exponent: close to natural language's, so a few words
// make up much of the text and most words are rare.
const zipfS = 1.1

// common are the most frequent words, in rank order.
var common = []string{
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
	"as", "was", "with", "be", "by", "on", "not", "he", "i", "this",
	"are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
}

// nonASCII words, spread over the ranks from the 8th on so that they occur
// often: multi-byte letters of Latin, Greek, Cyrillic and CJK scripts.
var nonASCII = []string{
	"straße", "naïve", "日本", "café", "über", "façade", "señor", "東京",
	"привет", "mañana", "smörgåsbord", "ελλάδα", "zürich", "coöperate", "ça",
	"łódź", "þorn", "中文字", "ünïcödé", "ﬁn",
}

// vocabulary returns the words by rank, the same in every run: the common
// words, the non-ASCII ones interleaved, then made-up words of 1 to 4
// syllables and a few numbers, all distinct and already lowercase.
var vocabulary = sync.OnceValue(func() []string {
	words := make([]string, 0, VocabularySize)
	seen := map[string]bool{}
	add := func(w string) {
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	for i, w := range common {
		add(w)
		if i >= 7 && i%3 == 1 && (i-7)/3 < len(nonASCII) {
			add(nonASCII[(i-7)/3])
		}
	}
	for _, w := range nonASCII {
		add(w)
	}
	r := rand.New(rand.NewPCG(0x5eed, 0x0c0de))
	onsets := []string{"b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "st", "tr", "sh", "gl", "pl"}
	vowels := []string{"a", "e", "i", "o", "u", "ai", "ou", "ee", "y"}
	codas := []string{"", "", "", "n", "r", "s", "t", "ng", "ck", "l"}
	for len(words) < VocabularySize {
		if r.IntN(100) == 0 {
			add(fmt.Sprint(r.IntN(3000)))
			continue
		}
		var w []byte
		for range 1 + r.IntN(4) {
			w = append(w, onsets[r.IntN(len(onsets))]...)
			w = append(w, vowels[r.IntN(len(vowels))]...)
			w = append(w, codas[r.IntN(len(codas))]...)
		}
		add(string(w))
	}
	return words
})

// separators go between the words of a line.
var separators = []string{" ", " ", " ", " ", " ", " ", ", ", ". ", "; ", " - ", "! ", " (", ") ", "'", ": ", "\t", " — "}

// Generate writes exactly size bytes of text made from seed: lines of
// words drawn from a vocabulary of VocabularySize words by a Zipf
// distribution (math/rand/v2's, exponent 1.1), separated by spaces and
// punctuation, some capitalized or in capitals; most lines are short, a
// few long, some empty, some ending "\r\n"; every line ends with a
// newline. The same seed and size give the same bytes on every platform
// and Go version whose math/rand/v2 PCG and Zipf are unchanged.
func Generate(w io.Writer, seed uint64, size int64) error {
	if size < 0 {
		return fmt.Errorf("corpus: size %d is negative", size)
	}
	words := vocabulary()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	zipf := rand.NewZipf(r, zipfS, 1, uint64(len(words)-1))
	bw := bufio.NewWriterSize(w, 256<<10)
	var line []byte
	for left := size; left > 0; {
		line = nextLine(line[:0], r, zipf, words)
		if int64(len(line)) > left {
			line = fitLine(line, int(left))
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
		left -= int64(len(line))
	}
	return bw.Flush()
}

// nextLine appends one line to b.
func nextLine(b []byte, r *rand.Rand, zipf *rand.Zipf, words []string) []byte {
	var n int
	switch k := r.IntN(100); {
	case k < 3:
		n = 0
	case k < 5:
		n = 50 + r.IntN(300)
	default:
		n = 1 + r.IntN(15)
	}
	for i := range n {
		if i > 0 {
			b = append(b, separators[r.IntN(len(separators))]...)
		}
		w := words[zipf.Uint64()]
		switch k := r.IntN(100); {
		case i == 0 && k < 50, k < 3:
			// Capitalized.
			c, size := utf8.DecodeRuneInString(w)
			b = utf8.AppendRune(b, unicode.ToUpper(c))
			b = append(b, w[size:]...)
		case k < 4:
			for _, c := range w {
				b = utf8.AppendRune(b, unicode.ToUpper(c))
			}
		default:
			b = append(b, w...)
		}
	}
	if n > 0 && r.IntN(4) == 0 {
		b = append(b, '.')
	}
	if r.IntN(20) == 0 {
		b = append(b, '\r')
	}
	return append(b, '\n')
}

// fitLine shortens line to n bytes, still valid UTF-8 and ending with a
// newline: its start, cut at a rune boundary, padded with spaces.
func fitLine(line []byte, n int) []byte {
	cut := line[:n-1]
	for !utf8.Valid(cut) {
		cut = cut[:len(cut)-1]
	}
	for len(cut) < n-1 {
		cut = append(cut, ' ')
	}
	return append(cut, '\n')
}
