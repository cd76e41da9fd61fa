package yarn_test

import (
	"bytes"
	"fmt"
	"log"
	"os"

	"github.com/spindle-yarn/spindle/yarn"
)

// An ApplicationMaster finds its AMRMToken in the credentials file the
// NodeManager wrote for its container.
func ExampleReadCredentialsFile() {
	creds, err := yarn.ReadCredentialsFile(os.Getenv(yarn.TokenFileEnv))
	if err != nil {
		log.Fatal(err)
	}
	amrm := creds.TokensByKind(yarn.KindAMRMToken)
	if len(amrm) == 0 {
		log.Fatal("no AMRMToken: not running as an ApplicationMaster")
	}
	log.Printf("AMRMToken: %v", amrm[0]) // safe: the password is never printed
}

// A token string from the RM REST API or WebHDFS (here an HDFS delegation
// token that Hadoop's Java code encoded) decodes to a Token; printing it shows
// what the identifier says, and of the password only its length.
func ExampleParseTokenURLString() {
	tok, err := yarn.ParseTokenURLString("IgAFYWxpY2UEeWFybgVvb3ppZYoBi8_laHuKAYvz8ex7KgcUCypJaIemxeQDIkFgf5693PsaOVgVSERGU19ERUxFR0FUSU9OX1RPS0VODjEyNy4wLjAuMTo4MDIw")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok)
	// Output:
	// kind="HDFS_DELEGATION_TOKEN" service="127.0.0.1:8020" owner="alice" renewer="yarn" realUser="oozie" issueDate="2023-11-14T22:13:20.123Z" maxDate="2023-11-21T22:13:20.123Z" sequenceNumber=42 masterKeyId=7 password=<redacted: 20 bytes>
}

// Credentials for a container launch context: the tokens field holds the
// format 0 bytes that MarshalBinary returns.
func ExampleCredentials() {
	var creds yarn.Credentials
	creds.AddToken("ha-hdfs:ns1", yarn.Token{Kind: yarn.KindHDFSDelegationToken, Service: "ha-hdfs:ns1",
		Identifier: []byte("identifier"), Password: []byte("password")})
	creds.AddSecret("app.secret", []byte{1, 2, 3})
	launchContextTokens, err := creds.MarshalBinary()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", launchContextTokens[:5])

	back, err := yarn.ReadCredentials(bytes.NewReader(launchContextTokens))
	if err != nil {
		log.Fatal(err)
	}
	for alias, tok := range back.Tokens() {
		fmt.Println(alias, tok.Kind, tok.Service)
	}
	// Output:
	// "HDTS\x00"
	// ha-hdfs:ns1 HDFS_DELEGATION_TOKEN ha-hdfs:ns1
}
