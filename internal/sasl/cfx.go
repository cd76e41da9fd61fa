package sasl

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc8009"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Key usages of RFC 4121 section 2. Wrap tokens use the SEAL usages whether
// or not they are encrypted; the SIGN usages are for MIC tokens, which
// SASL does not use.
const (
	usageAcceptorSeal  = 22
	usageInitiatorSeal = 24
)

// Wrap token flags (RFC 4121 section 4.2.2).
const (
	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04
)

const cfxHeaderLen = 16

// cfxEtype returns the encryption type of key if RFC 4121 tokens can use
// it. The older enctypes (DES, 3DES, RC4) use RFC 1964 tokens instead,
// which neither gokrb5 nor this package implements.
func cfxEtype(key types.EncryptionKey) (etype.EType, error) {
	switch key.KeyType {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
	default:
		return nil, fmt.Errorf("sasl: GSSAPI: session key enctype %d has no RFC 4121 (CFX) tokens; use an AES enctype", key.KeyType)
	}
	e, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: %w", err)
	}
	if len(key.KeyValue) != e.GetKeyByteSize() {
		return nil, fmt.Errorf("%w: GSSAPI: enctype %d key of %d bytes, want %d", ErrMalformed, key.KeyType, len(key.KeyValue), e.GetKeyByteSize())
	}
	return e, nil
}

// cfxLayer is the per-message protection of an established krb5 GSS
// context, seen from the initiator (RFC 4121 section 4.2.6.2): Wrap tokens
// with or without confidentiality. Each direction has its own sequence
// number and lock, so one goroutine may wrap while another unwraps.
type cfxLayer struct {
	e              etype.EType
	key            []byte
	acceptorSubkey bool // key is the acceptor's subkey: set the flag, expect it
	rand           io.Reader

	sendMu  sync.Mutex
	sendSeq uint64

	recvMu  sync.Mutex
	recvSeq uint64
	// recvSeqAlt, when set, is a second acceptable number for the first
	// token from the acceptor: without mutual authentication the acceptor's
	// initial sequence number is not sent, and is the initiator's (MIT,
	// Java) or zero (Heimdal).
	recvSeqAlt *uint64
	recvErr    error // sticky
}

func (l *cfxLayer) checksumLen() int { return l.e.GetHMACBitLength() / 8 }

// header returns a token header with the given flags, EC, RRC and sequence
// number.
func cfxHeader(flags byte, ec, rrc uint16, seq uint64) []byte {
	h := make([]byte, cfxHeaderLen)
	h[0], h[1], h[2], h[3] = 0x05, 0x04, flags, 0xff
	binary.BigEndian.PutUint16(h[4:6], ec)
	binary.BigEndian.PutUint16(h[6:8], rrc)
	binary.BigEndian.PutUint64(h[8:16], seq)
	return h
}

// wrap makes a Wrap token of msg, sealed (encrypted) or with a checksum
// only. Like Java, it sends EC = 0 and RRC = 0 in sealed tokens.
func (l *cfxLayer) wrap(msg []byte, seal bool) ([]byte, error) {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	var flags byte
	if l.acceptorSubkey {
		flags |= flagAcceptorSubkey
	}
	var tok []byte
	if seal {
		flags |= flagSealed
		hdr := cfxHeader(flags, 0, 0, l.sendSeq)
		conf := make([]byte, l.e.GetConfounderByteSize())
		if _, err := io.ReadFull(l.rand, conf); err != nil {
			return nil, fmt.Errorf("sasl: GSSAPI: reading confounder: %w", err)
		}
		ct, err := encryptWithConfounder(l.e, l.key, usageInitiatorSeal, conf, append(append([]byte{}, msg...), hdr...))
		if err != nil {
			return nil, err
		}
		tok = append(hdr, ct...)
	} else {
		ck, err := l.e.GetChecksumHash(l.key, append(append([]byte{}, msg...), cfxHeader(flags, 0, 0, l.sendSeq)...), usageInitiatorSeal)
		if err != nil {
			return nil, fmt.Errorf("sasl: GSSAPI: checksum: %w", err)
		}
		tok = cfxHeader(flags, uint16(len(ck)), 0, l.sendSeq)
		tok = append(tok, msg...)
		tok = append(tok, ck...)
	}
	l.sendSeq++
	return tok, nil
}

// unwrap checks and opens a Wrap token from the acceptor, which must be
// sealed or not as wantSealed says. A failure is final.
func (l *cfxLayer) unwrap(tok []byte, wantSealed bool) ([]byte, error) {
	l.recvMu.Lock()
	defer l.recvMu.Unlock()
	if l.recvErr != nil {
		return nil, l.recvErr
	}
	msg, sealed, seq, err := l.open(tok)
	if err == nil {
		switch {
		case sealed != wantSealed:
			err = fmt.Errorf("%w: GSSAPI wrap token sealed is %v, want %v", ErrMalformed, sealed, wantSealed)
		case seq == l.recvSeq:
		case l.recvSeqAlt != nil && seq == *l.recvSeqAlt:
			l.recvSeq = seq
		default:
			err = fmt.Errorf("%w: GSSAPI wrap token has sequence number %d, want %d", ErrSequence, seq, l.recvSeq)
		}
	}
	if err != nil {
		l.recvErr = err
		return nil, err
	}
	l.recvSeqAlt = nil
	l.recvSeq++
	return msg, nil
}

func (l *cfxLayer) open(tok []byte) (msg []byte, sealed bool, seq uint64, err error) {
	if len(tok) < cfxHeaderLen {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token of %d bytes", ErrMalformed, len(tok))
	}
	if tok[0] != 0x05 || tok[1] != 0x04 {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI token id %x, want 0504 (wrap)", ErrMalformed, tok[0:2])
	}
	flags := tok[2]
	if flags&flagSentByAcceptor == 0 {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token not sent by the acceptor", ErrMalformed)
	}
	if tok[3] != 0xff {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token filler %#x", ErrMalformed, tok[3])
	}
	if (flags&flagAcceptorSubkey != 0) != l.acceptorSubkey {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token acceptor-subkey flag is %v, want %v",
			ErrMalformed, flags&flagAcceptorSubkey != 0, l.acceptorSubkey)
	}
	ec := int(binary.BigEndian.Uint16(tok[4:6]))
	rrc := int(binary.BigEndian.Uint16(tok[6:8]))
	seq = binary.BigEndian.Uint64(tok[8:16])
	sealed = flags&flagSealed != 0

	// Undo the right rotation: rotate left by RRC.
	body := tok[cfxHeaderLen:]
	if len(body) > 0 && rrc%len(body) != 0 {
		r := rrc % len(body)
		body = append(append([]byte{}, body[r:]...), body[:r]...)
	}

	if sealed {
		minLen := l.e.GetConfounderByteSize() + l.checksumLen() + ec + cfxHeaderLen
		if len(body) < minLen {
			return nil, false, 0, fmt.Errorf("%w: sealed GSSAPI wrap token of %d bytes", ErrMalformed, len(tok))
		}
		plain, err := l.e.DecryptMessage(l.key, body, usageAcceptorSeal)
		if err != nil {
			return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token: %v", ErrIntegrity, err)
		}
		if len(plain) < ec+cfxHeaderLen {
			return nil, false, 0, fmt.Errorf("%w: sealed GSSAPI wrap token too short", ErrMalformed)
		}
		// The encrypted copy of the header has RRC = 0.
		want := cfxHeader(flags, uint16(ec), 0, seq)
		if !bytes.Equal(plain[len(plain)-cfxHeaderLen:], want) {
			return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token header differs from its encrypted copy", ErrIntegrity)
		}
		return plain[:len(plain)-cfxHeaderLen-ec], true, seq, nil
	}

	n := l.checksumLen()
	if ec != n {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token EC %d, want checksum length %d", ErrMalformed, ec, n)
	}
	if len(body) < n {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token of %d bytes", ErrMalformed, len(tok))
	}
	msg, ck := body[:len(body)-n], body[len(body)-n:]
	want, err := l.e.GetChecksumHash(l.key, append(append([]byte{}, msg...), cfxHeader(flags, 0, 0, seq)...), usageAcceptorSeal)
	if err != nil {
		return nil, false, 0, fmt.Errorf("sasl: GSSAPI: checksum: %w", err)
	}
	if !hmac.Equal(ck, want) {
		return nil, false, 0, fmt.Errorf("%w: GSSAPI wrap token checksum", ErrIntegrity)
	}
	return msg, false, seq, nil
}

// encryptWithConfounder is the RFC 3961 encryption of the AES enctypes
// with a given confounder, so that tests can fix it: gokrb5's
// EncryptMessage draws its own. The key usage selects the derived keys Ke
// and Ki. RFC 3962 MACs the plaintext (confounder | message); RFC 8009
// MACs the zero IV and the ciphertext.
func encryptWithConfounder(e etype.EType, key []byte, usage uint32, conf, msg []byte) ([]byte, error) {
	plain := append(append([]byte{}, conf...), msg...)
	ke, err := e.DeriveKey(key, common.GetUsageKe(usage))
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: deriving Ke: %w", err)
	}
	_, ct, err := e.EncryptData(ke, plain)
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: encrypting: %w", err)
	}
	var mac []byte
	switch e.GetETypeID() {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96:
		mac, err = common.GetIntegrityHash(plain, key, usage, e)
	case etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		mac, err = rfc8009.GetIntegityHash(make([]byte, e.GetConfounderByteSize()), ct, key, usage, e)
	default:
		return nil, fmt.Errorf("sasl: GSSAPI: no CFX encryption for enctype %d", e.GetETypeID())
	}
	if err != nil {
		return nil, fmt.Errorf("sasl: GSSAPI: integrity hash: %w", err)
	}
	return append(ct, mac...), nil
}
