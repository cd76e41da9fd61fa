package hdfs_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/spindle-yarn/spindle/hdfs"
)

// Stage an application's dependencies, render progress, and clean up.
func ExampleClient_Stage() {
	ctx := context.Background()
	conf, err := hadoopconf.LoadFromEnvironment() // HADOOP_CONF_DIR
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := hdfs.ConfigFromHadoopConf(conf)
	if err != nil {
		log.Fatal(err)
	}
	cfg.User = "alice" // on a Kerberos cluster: cfg.Kerberos.Client = a logged-in gokrb5 client
	c, err := hdfs.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	appID := "application_1700000000000_0001" // from yarn.RMClient.NewApplication
	st, err := c.Stage(ctx, appID, []hdfs.Dependency{
		{Local: "./myapp"}, // private cache, FILE
		{Local: "./conf"},  // directory: ARCHIVE, unpacked as conf/
		{Local: "./flink.tgz", Visibility: hdfs.VisibilityPublic}, // public cache, unpacked as flink.tgz/
		{Remote: "hdfs:///shared/udfs.jar", Type: hdfs.TypeFile},  // referenced as it is
	}, hdfs.StageOptions{Progress: func(p hdfs.Progress) {
		fmt.Printf("\r%d/%d files, %d/%d MiB", p.FilesDone, p.FilesTotal, p.BytesDone>>20, p.BytesTotal>>20)
	}})
	if err != nil {
		// Nothing was submitted: the staging directory can go.
		c.RemoveStaging(ctx, appID)
		log.Fatal(err)
	}
	for _, r := range st.Resources {
		// yarn.LocalResourcesFromStaging(st) builds the LocalResources.
		fmt.Println(r.Name, r.URL, r.Size, r.Timestamp, r.Type, r.Visibility)
	}
}

// Remove what crashed clients and ended applications left behind, and
// trim the caches, from a periodic job.
func ExampleClient_Sweep() {
	ctx := context.Background()
	c, err := hdfs.NewClient(hdfs.Config{NameNodes: []string{"nn.example.com:8020"}, User: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// With a yarn.RMClient or yarn.RESTClient rm: isRunning := yarn.RunningCheck(rm)
	isRunning := func(ctx context.Context, appID string) (bool, error) { return false, nil }
	removed, err := c.Sweep(ctx, isRunning, hdfs.SweepOptions{})
	if err != nil {
		log.Print(err)
	}
	fmt.Println("removed staging directories of", removed)
	ev, err := c.Evict(ctx, hdfs.EvictOptions{MaxAge: 30 * 24 * time.Hour, MaxBytes: 50 << 30, IsRunning: isRunning})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("evicted %d entries (%d bytes); %d in use\n", len(ev.Removed), ev.RemovedBytes, ev.InUse)
}

// One-off files go with the application: staged APPLICATION, they live
// in its staging directory, and RemoveStaging deletes them once it has
// ended. PRIVATE and PUBLIC entries stay in the caches for the next
// deployment, until Evict removes them.
func ExampleClient_Stage_oneOff() {
	ctx := context.Background()
	c, err := hdfs.NewClient(hdfs.Config{NameNodes: []string{"nn.example.com:8020"}, User: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	appID := "application_1700000000000_0002" // from yarn.RMClient.NewApplication
	st, err := c.Stage(ctx, appID, []hdfs.Dependency{
		{Local: "./job.properties", Visibility: hdfs.VisibilityApplication}, // this run only
		{Local: "./input.csv", Visibility: hdfs.VisibilityApplication},
		{Local: "./app.jar"}, // PRIVATE: cached, reused by the next run
	}, hdfs.StageOptions{})
	if err != nil {
		c.RemoveStaging(ctx, appID)
		log.Fatal(err)
	}
	for _, r := range st.Resources {
		fmt.Println(r.Name, r.Visibility, r.Path)
	}
	// ... submit with yarn.LocalResourcesFromStaging(st), wait for the end ...

	// Deletes job.properties and input.csv; app.jar stays in the cache.
	if err := c.RemoveStaging(ctx, appID); err != nil {
		log.Print(err)
	}
}
