package hdfs_test

import (
	"context"
	"io"
	"log"
	"os"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

// Inside a YARN container, with only the job's delegation tokens: read
// them from the file YARN names, then write a file and read it back.
func ExampleClient_Create() {
	ctx := context.Background()
	creds, err := yarn.ReadCredentialsFile(os.Getenv("HADOOP_TOKEN_FILE_LOCATION"))
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := hdfs.LoadConfig("") // $HADOOP_CONF_DIR
	if err != nil {
		log.Fatal(err)
	}
	cfg.Kerberos = nil // no keytab in a container
	cfg.User = os.Getenv("USER")
	cfg.Tokens = creds.TokensByKind(hdfs.KindDelegationToken)
	c, err := hdfs.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	w, err := c.Create(ctx, "/user/alice/out/part-0", hdfs.CreateOptions{Overwrite: true})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(w, "hello\n"); err != nil {
		w.Abort() // deletes the partial file
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := c.Open(ctx, "/user/alice/out/part-0")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	io.Copy(os.Stdout, r)
}
