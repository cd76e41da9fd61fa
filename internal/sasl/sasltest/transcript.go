// Package sasltest records and replays SASL exchanges between Spindle's
// clients and a real peer, so that unit tests can check the clients byte for
// byte against what a Java server produced and accepted.
//
// The integration tests record a Transcript per exchange (with a Recorder as
// the client's random source) and write it under internal/sasl/testdata
// when SPINDLE_SASL_RECORD names that directory; the unit tests of package
// sasl replay them.
//
// DigestServer is the server side of a DIGEST-MD5 token exchange at
// protection auth, checked against a recorded Java exchange, for fake IPC
// servers (package ipctest) that authenticate token clients.
package sasltest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Transcript is one recorded exchange and the messages wrapped after it.
type Transcript struct {
	// Note says where the transcript came from.
	Note string `json:"note"`
	// Mechanism is "DIGEST-MD5" or "GSSAPI".
	Mechanism string `json:"mechanism"`
	// Protection is the client's configured list, and QOP the level used.
	Protection []string `json:"protection"`
	QOP        string   `json:"qop"`
	// Rand holds every byte the client read from its random source, in
	// order.
	Rand []byte `json:"rand"`

	// DIGEST-MD5 configuration.
	Identifier []byte `json:"identifier,omitempty"`
	Password   []byte `json:"password,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	ServerID   string `json:"server_id,omitempty"`
	// Cipher is the auth-conf cipher the server offered alone.
	Cipher string `json:"cipher,omitempty"`

	// GSSAPI configuration: the service principal, the client's clock
	// reading, and the ticket's session key (from the client's cache).
	ServicePrincipal string    `json:"service_principal,omitempty"`
	Mutual           bool      `json:"mutual,omitempty"`
	Now              time.Time `json:"now,omitzero"`
	SessionKeyType   int32     `json:"session_key_type,omitempty"`
	SessionKey       []byte    `json:"session_key,omitempty"`

	// Start is the client's initial response.
	Start []byte `json:"start"`
	// Steps are the server's challenges and the client's responses.
	Steps []Step `json:"steps"`
	// Final is the token of the server's SUCCESS.
	Final []byte `json:"final"`
	// Messages are the wrapped messages, in the order they crossed.
	Messages []Message `json:"messages"`
}

// Step is one challenge and its response.
type Step struct {
	Challenge []byte `json:"challenge"`
	Response  []byte `json:"response"`
}

// Message is one message of the security layer.
type Message struct {
	FromClient bool   `json:"from_client"`
	Plain      []byte `json:"plain"`
	Wire       []byte `json:"wire"`
}

// Load reads a transcript written by Save.
func Load(path string) (*Transcript, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Transcript
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("sasltest: %s: %w", path, err)
	}
	return &t, nil
}

// Save writes t as indented JSON.
func (t *Transcript) Save(path string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Recorder is an io.Reader that reads from R and keeps a copy of every
// byte it returned. It is safe for concurrent use.
type Recorder struct {
	R io.Reader

	mu   sync.Mutex
	read []byte
}

func (r *Recorder) Read(p []byte) (int, error) {
	n, err := r.R.Read(p)
	r.mu.Lock()
	r.read = append(r.read, p[:n]...)
	r.mu.Unlock()
	return n, err
}

// Bytes returns a copy of everything read so far.
func (r *Recorder) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.read...)
}
