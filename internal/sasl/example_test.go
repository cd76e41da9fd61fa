package sasl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spindle-yarn/spindle/internal/sasl"
)

// A DIGEST-MD5 exchange with a Hadoop token, as the IPC layer drives it:
// the first challenge arrives with the server's NEGOTIATE, the response
// goes out with INITIATE, and SUCCESS carries the server's rspauth.
func ExampleNewDigestMD5() {
	c, err := sasl.NewDigestMD5(sasl.DigestConfig{
		Identifier: []byte("token identifier"),
		Password:   []byte("token password"),
		Protocol:   "", ServerID: "default", // from the server's SaslAuth
		Protection: []sasl.QOP{sasl.AuthConf, sasl.AuthInt},
		Rand:       bytes.NewReader(make([]byte, 30)), // fixed for the example only
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	challenge := []byte(`realm="default",nonce="OA6MG9tEQGm2hh",qop="auth,auth-int",charset=utf-8,algorithm=md5-sess`)
	resp, err := c.Step(ctx, challenge)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", resp)
	// A server that does not know the token's password cannot send the
	// right rspauth.
	err = c.Finish([]byte("rspauth=00000000000000000000000000000000"))
	fmt.Println(errors.Is(err, sasl.ErrServerAuth))
	// Output:
	// charset=utf-8,username="dG9rZW4gaWRlbnRpZmllcg==",realm="default",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",digest-uri="/default",maxbuf=65536,response=f6f54c0c518d920561ba8c2c296a51e3,qop=auth-int
	// true
}
