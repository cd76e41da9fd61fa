// Package identitytest writes Kerberos ticket cache files for tests of
// ticket-cache logins: gokrb5 reads caches but cannot write them, and the
// test machines have no kinit. The writer follows MIT's file format,
// version 4 (doc/formats/ccache_file_format.rst): test data only, never
// used by the library.
package identitytest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Cred is one credential of a cache: a ticket for Server issued to the
// cache's principal, with its session key and times.
type Cred struct {
	Server                                  types.PrincipalName
	ServerRealm                             string
	Key                                     types.EncryptionKey
	AuthTime, StartTime, EndTime, RenewTill time.Time
	Flags                                   []byte // 4 bytes of ticket flags
	Ticket                                  []byte // DER of the Ticket
}

// WriteCCache writes a version 4 cache file for client@realm holding creds,
// mode 0600 as kinit leaves it.
func WriteCCache(path string, client types.PrincipalName, realm string, creds ...Cred) error {
	var b bytes.Buffer
	be := func(v any) { binary.Write(&b, binary.BigEndian, v) }
	data := func(d []byte) { be(uint32(len(d))); b.Write(d) }
	principal := func(p types.PrincipalName, realm string) {
		be(uint32(p.NameType))
		be(uint32(len(p.NameString)))
		data([]byte(realm))
		for _, c := range p.NameString {
			data([]byte(c))
		}
	}
	b.Write([]byte{5, 4})
	be(uint16(0)) // no header tags
	principal(client, realm)
	for _, c := range creds {
		principal(client, realm)
		principal(c.Server, c.ServerRealm)
		be(uint16(c.Key.KeyType))
		data(c.Key.KeyValue)
		for _, t := range []time.Time{c.AuthTime, c.StartTime, c.EndTime, c.RenewTill} {
			var s uint32
			if !t.IsZero() {
				s = uint32(t.Unix())
			}
			be(s)
		}
		b.WriteByte(0) // not a session-key ticket
		flags := make([]byte, 4)
		copy(flags, c.Flags)
		b.Write(flags)
		be(uint32(0)) // addresses
		be(uint32(0)) // authdata
		data(c.Ticket)
		data(nil) // second ticket
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// TGT obtains a fresh ticket-granting ticket for kc's principal with an AS
// exchange, as kinit would, for writing into a cache. kc has a keytab or
// password; it is not logged in by this.
func TGT(kc *krbclient.Client) (Cred, error) {
	realm := kc.Credentials.Realm()
	req, err := messages.NewASReqForTGT(realm, kc.Config, kc.Credentials.CName())
	if err != nil {
		return Cred{}, err
	}
	rep, err := kc.ASExchange(realm, req, 0)
	if err != nil {
		return Cred{}, err
	}
	tkt, err := rep.Ticket.Marshal()
	if err != nil {
		return Cred{}, fmt.Errorf("marshal TGT: %w", err)
	}
	ep := rep.DecryptedEncPart
	return Cred{
		Server: rep.Ticket.SName, ServerRealm: rep.Ticket.Realm, Key: ep.Key,
		AuthTime: ep.AuthTime, StartTime: ep.StartTime, EndTime: ep.EndTime, RenewTill: ep.RenewTill,
		Flags: ep.Flags.Bytes, Ticket: tkt,
	}, nil
}
