package sasl

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	"sync"
)

// The magic constants of RFC 2831 sections 2.3 and 2.4.
const (
	kicMagic = "Digest session key to client-to-server signing key magic constant"
	kisMagic = "Digest session key to server-to-client signing key magic constant"
	kccMagic = "Digest H(A1) to client-to-server sealing key magic constant"
	kcsMagic = "Digest H(A1) to server-to-client sealing key magic constant"
)

// digestMsgType is the message type field of every wrapped message.
const digestMsgType = 1

// digestMACLen is how much of HMAC-MD5 a wrapped message carries.
const digestMACLen = 10

// digestLayer is the DIGEST-MD5 security layer (RFC 2831 sections 2.3 and
// 2.4) of the client side. Each direction has its own key, sequence number
// and cipher state, and its own lock, so one goroutine may Wrap while
// another Unwraps.
type digestLayer struct {
	send digestDirection
	recv digestDirection
}

type digestDirection struct {
	mu  sync.Mutex
	ki  []byte      // integrity key: Kic out, Kis in
	seq uint32      // next sequence number
	c   layerCipher // nil for auth-int
	err error       // sticky: once a message fails, the stream is broken
}

// layerCipher is a cipher whose state carries from one message to the next,
// as RFC 2831 requires: RC4's key stream, or CBC's last ciphertext block.
type layerCipher interface {
	blockSize() int // 1 for a stream cipher
	crypt(dst, src []byte)
}

type streamCipher struct{ s cipher.Stream }

func (s streamCipher) blockSize() int        { return 1 }
func (s streamCipher) crypt(dst, src []byte) { s.s.XORKeyStream(dst, src) }

type cbcCipher struct{ m cipher.BlockMode }

func (c cbcCipher) blockSize() int        { return c.m.BlockSize() }
func (c cbcCipher) crypt(dst, src []byte) { c.m.CryptBlocks(dst, src) }

func newDigestLayer(ha1 [md5.Size]byte, qop QOP, cipherName string) (*digestLayer, error) {
	kic := md5.Sum(append(ha1[:], kicMagic...))
	kis := md5.Sum(append(ha1[:], kisMagic...))
	l := &digestLayer{}
	l.send.ki, l.recv.ki = kic[:], kis[:]
	if qop != AuthConf {
		return l, nil
	}
	// Kcc and Kcs hash only the first n bytes of H(A1) for the weakened
	// RC4 variants.
	n := md5.Size
	switch cipherName {
	case "rc4-40":
		n = 5
	case "rc4-56":
		n = 7
	}
	kcc := md5.Sum(append(ha1[:n:n], kccMagic...))
	kcs := md5.Sum(append(ha1[:n:n], kcsMagic...))
	var err error
	if l.send.c, err = newLayerCipher(cipherName, kcc, true); err != nil {
		return nil, err
	}
	if l.recv.c, err = newLayerCipher(cipherName, kcs, false); err != nil {
		return nil, err
	}
	return l, nil
}

// newLayerCipher keys one direction's cipher from Kcc or Kcs. RC4 takes all
// 16 bytes. DES takes the first 7 bytes and 3DES the first 14 (two-key
// EDE: K1, K2, K1), each 7 bytes spread over 8 with parity bits; the IV is
// the last 8 bytes (RFC 2831 section 2.4).
func newLayerCipher(name string, kc [md5.Size]byte, encrypt bool) (layerCipher, error) {
	switch name {
	case "rc4", "rc4-56", "rc4-40":
		s, err := rc4.NewCipher(kc[:])
		if err != nil {
			return nil, fmt.Errorf("sasl: DIGEST-MD5 %s: %w", name, err)
		}
		return streamCipher{s}, nil
	case "des", "3des":
		var b cipher.Block
		var err error
		if name == "des" {
			b, err = des.NewCipher(desKey(kc[0:7]))
		} else {
			k1, k2 := desKey(kc[0:7]), desKey(kc[7:14])
			key := append(append(append([]byte{}, k1...), k2...), k1...)
			b, err = des.NewTripleDESCipher(key)
		}
		if err != nil {
			return nil, fmt.Errorf("sasl: DIGEST-MD5 %s: %w", name, err)
		}
		iv := kc[8:16]
		if encrypt {
			return cbcCipher{cipher.NewCBCEncrypter(b, iv)}, nil
		}
		return cbcCipher{cipher.NewCBCDecrypter(b, iv)}, nil
	default:
		return nil, fmt.Errorf("sasl: DIGEST-MD5: unsupported cipher %q", name)
	}
}

// desKey spreads 56 key bits over 8 bytes, 7 bits each in the high bits,
// and sets each byte's low bit for odd parity.
func desKey(b []byte) []byte {
	var v uint64
	for _, x := range b[:7] {
		v = v<<8 | uint64(x)
	}
	out := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		k := byte(v&0x7f) << 1
		v >>= 7
		ones := 0
		for x := k; x != 0; x >>= 1 {
			ones += int(x & 1)
		}
		if ones%2 == 0 {
			k |= 1
		}
		out[i] = k
	}
	return out
}

func digestMAC(ki []byte, seq uint32, msg []byte) []byte {
	m := hmac.New(md5.New, ki)
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], seq)
	m.Write(s[:])
	m.Write(msg)
	return m.Sum(nil)[:digestMACLen]
}

// wrap protects one message: {msg, MAC, type, seq} with integrity, or
// {CIPHER({msg, pad, MAC}), type, seq} with privacy. As in Java, an empty
// message wraps to nothing and uses no sequence number.
func (l *digestLayer) wrap(msg []byte) ([]byte, error) {
	d := &l.send
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(msg) == 0 {
		return []byte{}, nil
	}
	mac := digestMAC(d.ki, d.seq, msg)
	var out []byte
	if d.c == nil {
		out = make([]byte, 0, len(msg)+digestMACLen+6)
		out = append(out, msg...)
		out = append(out, mac...)
	} else {
		pad := 0
		if bs := d.c.blockSize(); bs > 1 {
			pad = bs - (len(msg)+digestMACLen)%bs
		}
		plain := make([]byte, 0, len(msg)+pad+digestMACLen)
		plain = append(plain, msg...)
		for i := 0; i < pad; i++ {
			plain = append(plain, byte(pad))
		}
		plain = append(plain, mac...)
		out = make([]byte, len(plain), len(plain)+6)
		d.c.crypt(out, plain)
	}
	out = binary.BigEndian.AppendUint16(out, digestMsgType)
	out = binary.BigEndian.AppendUint32(out, d.seq)
	d.seq++
	return out, nil
}

// unwrap checks (and with privacy decrypts) one message from the server.
// A failure is final: with privacy the cipher state has moved on, and in
// any case the peer can no longer be trusted.
func (l *digestLayer) unwrap(tok []byte) ([]byte, error) {
	d := &l.recv
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	msg, err := d.open(tok)
	if err != nil {
		d.err = err
		return nil, err
	}
	return msg, nil
}

func (d *digestDirection) open(tok []byte) ([]byte, error) {
	if len(tok) == 0 {
		return []byte{}, nil
	}
	if len(tok) < 6 {
		return nil, fmt.Errorf("%w: DIGEST-MD5 wrapped message of %d bytes", ErrMalformed, len(tok))
	}
	body, trailer := tok[:len(tok)-6], tok[len(tok)-6:]
	if t := binary.BigEndian.Uint16(trailer[0:2]); t != digestMsgType {
		return nil, fmt.Errorf("%w: DIGEST-MD5 wrapped message has type %d", ErrMalformed, t)
	}
	seq := binary.BigEndian.Uint32(trailer[2:6])

	var msg, mac []byte
	if d.c == nil {
		if len(body) < digestMACLen {
			return nil, fmt.Errorf("%w: DIGEST-MD5 wrapped message of %d bytes", ErrMalformed, len(tok))
		}
		msg, mac = body[:len(body)-digestMACLen], body[len(body)-digestMACLen:]
	} else {
		bs := d.c.blockSize()
		if len(body) < digestMACLen+1 || len(body)%bs != 0 {
			return nil, fmt.Errorf("%w: DIGEST-MD5 sealed message of %d bytes", ErrMalformed, len(body))
		}
		plain := make([]byte, len(body))
		d.c.crypt(plain, body)
		msg, mac = plain[:len(plain)-digestMACLen], plain[len(plain)-digestMACLen:]
		if bs > 1 {
			pad := int(msg[len(msg)-1])
			if pad < 1 || pad > bs || pad > len(msg) {
				return nil, fmt.Errorf("%w: DIGEST-MD5 sealed message has bad padding", ErrIntegrity)
			}
			for _, p := range msg[len(msg)-pad:] {
				if int(p) != pad {
					return nil, fmt.Errorf("%w: DIGEST-MD5 sealed message has bad padding", ErrIntegrity)
				}
			}
			msg = msg[:len(msg)-pad]
		}
	}
	if !hmac.Equal(mac, digestMAC(d.ki, seq, msg)) {
		return nil, fmt.Errorf("%w: DIGEST-MD5 message %d", ErrIntegrity, seq)
	}
	if seq != d.seq {
		return nil, fmt.Errorf("%w: DIGEST-MD5 message has sequence number %d, want %d", ErrSequence, seq, d.seq)
	}
	d.seq++
	return msg, nil
}
