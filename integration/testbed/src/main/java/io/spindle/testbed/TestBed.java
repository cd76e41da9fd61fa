package io.spindle.testbed;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.ha.HAServiceProtocol;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider;
import org.apache.hadoop.minikdc.MiniKdc;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.yarn.api.records.NodeId;
import org.apache.hadoop.yarn.api.records.NodeState;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.NodeManager;
import org.apache.hadoop.yarn.server.nodemanager.containermanager.loghandler.NonAggregatingLogHandler;
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager;
import org.apache.hadoop.yarn.server.resourcemanager.rmnode.RMNode;

/**
 * Spindle's Hadoop test bed: one HDFS (1 NameNode, or in HA mode the
 * nameservice ns1 of 2 NameNodes; 1 DataNode) and one YARN (1 or 2
 * ResourceManagers, N NodeManagers running containers as real local
 * processes), optionally secured by an in-process KDC, all on loopback.
 *
 * <p>It writes a Hadoop client configuration and ready.json into the
 * directory it is given, serves fault injection on a loopback HTTP control
 * port, and runs until the process is interrupted or terminated.
 */
public final class TestBed {
  static final String REALM = "EXAMPLE.COM";
  /** All Hadoop services in this JVM log in as one principal. */
  static final String SERVICE_PRINCIPAL = "hadoop/localhost@" + REALM;
  static final String HTTP_PRINCIPAL = "HTTP/localhost@" + REALM;
  /** The default resource installing InProcessLocalFs in this JVM. */
  static final String LOCAL_FS_RESOURCE = "spindle-testbed-local-fs.xml";
  static final String[] USERS = {"alice", "bob"};
  /** The HDFS nameservice of HA mode: fs.defaultFS is hdfs://ns1. */
  static final String NAMESERVICE = "ns1";
  /**
   * How long the shutdown hook may take before the JVM halts: the Go harness
   * and `make testbed` promise an exit within 10 s of SIGTERM or Ctrl-C.
   */
  static final long SHUTDOWN_GRACE_MS = 8_000;
  /** How long shutdown waits for the NodeManagers to stop. */
  static final long NM_STOP_WAIT_MS = 3_000;

  /**
   * JVM options every Java process of the test bed needs on Java 17; the
   * NodeManager passes them to Java containers and localizers too.
   */
  static final String JAVA17_OPTS = String.join(" ",
      "-XX:+IgnoreUnrecognizedVMOptions",
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens=java.base/java.math=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/java.text=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.zip=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/sun.security.util=ALL-UNNAMED",
      "--add-opens=java.base/sun.security.x509=ALL-UNNAMED",
      "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED");

  private final Options opts;
  private final File dir;
  private final File confDir;
  /**
   * This JVM's own site files, ahead of conf/ on its classpath: see
   * writeClientConf.
   */
  private final File siteDir;
  private final File workDir;
  private final long startNanos = System.nanoTime();

  private MiniKdc kdc;
  private MiniDFSCluster dfs;
  private MiniYARNCluster yarn;
  private HttpServer control;
  private UserGroupInformation serviceUgi;
  private final List<String> rmIds = new ArrayList<>();
  /** NameNode ids (nn1, nn2 in HA mode) and their RPC and HTTP ports, by index. */
  private final List<String> nnIds = new ArrayList<>();
  private final List<Integer> nnRpcPorts = new ArrayList<>();
  private final List<Integer> nnHttpPorts = new ArrayList<>();
  /** NodeManagers started by the control endpoint replace the cluster's own. */
  private final Map<Integer, NodeManager> restartedNMs = new LinkedHashMap<>();
  private final Map<Integer, String> nmAddresses = new LinkedHashMap<>();
  /** Profiles bed: the node label exists, so queues may be given capacity on it. */
  private boolean profilesLabelled;

  TestBed(Options opts) {
    this.opts = opts;
    this.dir = opts.dir.getAbsoluteFile();
    this.confDir = new File(dir, "conf");
    this.siteDir = new File(dir, "site");
    this.workDir = new File(dir, "work");
  }

  public static void main(String[] args) throws Exception {
    Options opts = Options.parse(args);
    // Before any Configuration is made: this JVM's local file system sets
    // permissions without forking chmod (see InProcessLocalFs).
    Configuration.addDefaultResource(LOCAL_FS_RESOURCE);
    TestBed bed = new TestBed(opts);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      haltAfterGrace(bed.workDir);
      bed.stop();
      stopped.countDown();
    }, "testbed-shutdown"));
    try {
      bed.start();
    } catch (Throwable t) {
      System.err.println("testbed: start failed: " + t);
      t.printStackTrace();
      System.exit(1);
    }
    if (opts.exitOnStdinEof) {
      // The parent (the Go harness) holds our stdin open; when it dies for
      // any reason, even a panic or a test timeout, the pipe closes and the
      // test bed takes itself down instead of outliving it.
      Thread watchdog = new Thread(() -> {
        try {
          while (System.in.read() >= 0) {
            // Input is ignored; only end-of-file matters.
          }
        } catch (IOException e) {
          // A broken pipe means the same as end-of-file.
        }
        System.err.println("testbed: stdin closed; shutting down");
        System.exit(0);
      }, "testbed-stdin-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
    }
    stopped.await();
  }

  void start() throws Exception {
    // conf/ itself stays: it is on this JVM's classpath (run.sh creates it
    // first), and a classpath directory missing at start-up is never read.
    for (File d : new File[] {confDir, siteDir}) {
      File[] stale = d.listFiles();
      if (stale != null) {
        for (File f : stale) {
          deleteRecursively(f);
        }
      }
    }
    deleteRecursively(workDir);
    new File(dir, "ready.json").delete();
    confDir.mkdirs();
    if (!confDir.isDirectory() || !workDir.mkdirs()) {
      throw new IOException("cannot create " + confDir + " and " + workDir);
    }
    // MiniYARNCluster puts its work directories under test.build.data.
    System.setProperty("test.build.data", new File(workDir, "yarn").getPath());

    writeSchedulerConf();
    YarnConfiguration conf = new YarnConfiguration();
    configureCommon(conf);
    if (opts.kerberos) {
      startKdc();
      configureKerberos(conf);
      UserGroupInformation.setConfiguration(conf);
      serviceUgi = UserGroupInformation.loginUserFromKeytabAndReturnUGI(
          SERVICE_PRINCIPAL, new File(confDir, "hadoop.keytab").getPath());
      UserGroupInformation.setLoginUser(serviceUgi);
    } else {
      UserGroupInformation.setConfiguration(conf);
      serviceUgi = UserGroupInformation.getLoginUser();
    }
    serviceUgi.doAs((PrivilegedExceptionAction<Void>) () -> {
      startHdfs(conf);
      startYarn(conf);
      return null;
    });
    writeClientConf(yarn.getConfig());
    startControl();
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    writeReady(seconds);
    System.out.printf("testbed: ready in %.1f s (%s%s, %d NodeManagers); config in %s%n",
        seconds, opts.kerberos ? "kerberos, rpc protection " + opts.rpcProtection : "simple auth",
        opts.ha ? ", RM and NameNode HA" : "", opts.nodeManagers, confDir);
    System.out.flush();
  }

  // ---------------------------------------------------------------- config

  private void configureCommon(Configuration conf) throws IOException {
    conf.set("hadoop.tmp.dir", new File(workDir, "tmp").getPath());
    conf.set("hadoop.security.authentication", "simple");
    conf.setBoolean("hadoop.security.authorization", false);
    // Any user may impersonate through the service users; proxy-user tests need it.
    for (String u : new String[] {"hadoop", "root", System.getProperty("user.name")}) {
      conf.set("hadoop.proxyuser." + u + ".hosts", "*");
      conf.set("hadoop.proxyuser." + u + ".groups", "*");
    }

    // HDFS
    conf.setInt("dfs.replication", 1);
    conf.setBoolean("dfs.permissions.enabled", true);
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:" + opts.nnPort);
    conf.set("dfs.namenode.http-address", "127.0.0.1:" + opts.nnHttpPort);
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 1024);
    conf.set("dfs.datanode.du.reserved", "0");
    conf.set("dfs.namenode.resource.du.reserved", "0");
    conf.setLong("dfs.namenode.delegation.token.renew-interval", opts.tokenRenewMs);
    conf.setLong("dfs.namenode.delegation.token.max-lifetime", opts.tokenMaxLifetimeMs);

    // YARN: fixed loopback ports so that the written config is the truth.
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true);
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_USE_RPC, true);
    int rms = opts.ha ? 2 : 1;
    for (int i = 0; i < rms; i++) {
      String id = "rm" + (i + 1);
      rmIds.add(id);
      String suffix = opts.ha ? "." + id : "";
      conf.set(YarnConfiguration.RM_ADDRESS + suffix, "127.0.0.1:" + freePort());
      conf.set(YarnConfiguration.RM_SCHEDULER_ADDRESS + suffix, "127.0.0.1:" + freePort());
      conf.set(YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS + suffix, "127.0.0.1:" + freePort());
      conf.set(YarnConfiguration.RM_ADMIN_ADDRESS + suffix, "127.0.0.1:" + freePort());
      conf.set(YarnConfiguration.RM_WEBAPP_ADDRESS + suffix, "127.0.0.1:" + freePort());
      conf.set(YarnConfiguration.RM_WEBAPP_HTTPS_ADDRESS + suffix, "127.0.0.1:" + freePort());
      if (opts.ha) {
        conf.set(YarnConfiguration.RM_HOSTNAME + suffix, "127.0.0.1");
      }
    }
    if (opts.ha) {
      conf.setBoolean(YarnConfiguration.RM_HA_ENABLED, true);
      conf.set(YarnConfiguration.RM_HA_IDS, String.join(",", rmIds));
      conf.set(YarnConfiguration.RM_CLUSTER_ID, "spindle-testbed");
      conf.setBoolean(YarnConfiguration.AUTO_FAILOVER_ENABLED, false);
      conf.setBoolean(YarnConfiguration.AUTO_FAILOVER_EMBEDDED, false);
      // Applications and their containers survive a failover: the new active
      // RM recovers them from a state store both RMs share.
      conf.setBoolean(YarnConfiguration.RECOVERY_ENABLED, true);
      conf.set(YarnConfiguration.RM_STORE,
          "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore");
      conf.set(YarnConfiguration.FS_RM_STATE_STORE_URI,
          new File(workDir, "rmstore").toURI().toString());
      conf.setBoolean(YarnConfiguration.RM_WORK_PRESERVING_RECOVERY_ENABLED, true);
      conf.setLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_BASE_MS, 100);
      conf.setLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_MAX_MS, 1000);
    }

    // Tuned for a 2-core machine with little free disk.
    conf.setInt(YarnConfiguration.YARN_MINICLUSTER_NM_PMEM_MB, 8192);
    conf.setInt(YarnConfiguration.NM_VCORES, 16);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 64);
    conf.setLong(YarnConfiguration.RM_NM_HEARTBEAT_INTERVAL_MS, 100);
    conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 99.9f);
    conf.setLong(YarnConfiguration.NM_MIN_PER_DISK_FREE_SPACE_MB, 0);
    conf.setInt(YarnConfiguration.RM_AM_MAX_ATTEMPTS, 4);
    conf.setBoolean(YarnConfiguration.LOG_AGGREGATION_ENABLED, false);
    conf.setInt(YarnConfiguration.DEBUG_NM_DELETE_DELAY_SEC, 600);
    // Each container's launch script would otherwise copy itself to the log
    // directory and list the work directory into directory.info (cp,
    // chmod, ls, find, find: five more processes for every container, on
    // 2 cores). Nothing here reads them.
    conf.setBoolean("yarn.nodemanager.log-container-debug-info.enabled", false);
    conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, opts.memoryCheck);
    if (opts.memoryCheck) {
      // Containers whose process tree outgrows their memory are killed
      // (exit status -104), sampled every second rather than every 3 s so
      // the tests of it are quick. Opt-in: on other beds the JVMs the
      // tests start may use more than their containers ask for.
      // MiniYARNCluster turns the monitor off unless told the test controls
      // it; the process tree is read from /proc.
      conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_CONTROL_RESOURCE_MONITORING, true);
      conf.set(YarnConfiguration.NM_CONTAINER_MON_RESOURCE_CALCULATOR,
          "org.apache.hadoop.yarn.util.LinuxResourceCalculatorPlugin");
      conf.set(YarnConfiguration.NM_CONTAINER_MON_PROCESS_TREE,
          "org.apache.hadoop.yarn.util.ProcfsBasedProcessTree");
      conf.setLong(YarnConfiguration.NM_CONTAINER_MON_INTERVAL_MS, 1000);
      // Without cgroups nothing else enforces memory, yet the monitor leaves
      // it to cgroups while yarn.nodemanager.resource.memory.enforced is
      // true (its default).
      conf.setBoolean(YarnConfiguration.NM_MEMORY_RESOURCE_ENFORCED, false);
    }
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    // A stopped NodeManager is declared LOST within seconds, not minutes.
    conf.setLong(YarnConfiguration.RM_NM_EXPIRY_INTERVAL_MS, 10_000);
    conf.setLong(YarnConfiguration.RM_DELEGATION_TOKEN_RENEW_INTERVAL_KEY, opts.tokenRenewMs);
    conf.setLong(YarnConfiguration.RM_DELEGATION_TOKEN_MAX_LIFETIME_KEY, opts.tokenMaxLifetimeMs);
    if (opts.amrmRollingSecs > 0) {
      // AMRMTokenSecretManager activates a rolled key 1.5 AM expiry
      // intervals after the roll and refuses a rolling interval of 3 of them
      // or less, so the AM expiry shrinks with the interval, to 2/7 of it.
      conf.setLong(YarnConfiguration.RM_AMRM_TOKEN_MASTER_KEY_ROLLING_INTERVAL_SECS,
          opts.amrmRollingSecs);
      conf.setLong(YarnConfiguration.RM_AM_EXPIRY_INTERVAL_MS, opts.amrmRollingSecs * 2000 / 7);
    }
    conf.setBoolean(YarnConfiguration.YARN_ACL_ENABLE, true);
    conf.set(YarnConfiguration.YARN_ADMIN_ACL, "*");

    // Java containers (Hadoop's DistributedShell AM) and localizer JVMs need
    // the same Java 17 options, and the Kerberos configuration in secure mode.
    String javaOpts = JAVA17_OPTS + " -Djava.security.krb5.conf="
        + new File(confDir, "krb5.conf").getPath();
    conf.set(YarnConfiguration.NM_ADMIN_USER_ENV, "JDK_JAVA_OPTIONS=" + javaOpts);
    conf.set("yarn.nodemanager.container-localizer.java.opts", "-Xmx256m " + javaOpts);
    if (opts.profiles) {
      ProfilesBed.configure(conf, workDir);
    }
    if (opts.mapreduce) {
      // Hadoop MapReduce's shuffle service in every NodeManager, for the
      // benchmark that runs Hadoop's WordCount beside Spindle's. Port 0:
      // the NodeManagers share this JVM, and each tells the MR AM its port
      // through the service's metadata. Opt-in: other beds start without it.
      conf.setStrings(YarnConfiguration.NM_AUX_SERVICES, "mapreduce_shuffle");
      conf.set("yarn.nodemanager.aux-services.mapreduce_shuffle.class",
          "org.apache.hadoop.mapred.ShuffleHandler");
      conf.setInt("mapreduce.shuffle.port", 0);
    }
  }

  /**
   * The CapacityScheduler rereads capacity-scheduler.xml from the classpath
   * (run.sh puts conf/ on it) whenever an RM becomes active, so its settings
   * live in that file rather than in memory. Two queues: default and batch.
   */
  private void writeSchedulerConf() throws IOException {
    Configuration cs = new Configuration(false);
    cs.set("yarn.scheduler.capacity.root.queues", "default,batch");
    cs.set("yarn.scheduler.capacity.root.default.capacity", "80");
    cs.set("yarn.scheduler.capacity.root.batch.capacity", "20");
    cs.set("yarn.scheduler.capacity.root.default.maximum-capacity", "100");
    cs.set("yarn.scheduler.capacity.root.batch.maximum-capacity", "100");
    cs.set("yarn.scheduler.capacity.maximum-am-resource-percent", "1.0");
    cs.set("yarn.scheduler.capacity.maximum-applications", "10000");
    cs.set("yarn.scheduler.capacity.node-locality-delay", "-1");
    if (opts.profiles) {
      ProfilesBed.configureScheduler(cs, profilesLabelled);
    }
    try (OutputStream os = new FileOutputStream(new File(confDir, "capacity-scheduler.xml"))) {
      cs.writeXml(os);
    }
  }

  private void configureKerberos(Configuration conf) {
    String serviceKeytab = new File(confDir, "hadoop.keytab").getPath();
    String httpKeytab = new File(confDir, "HTTP.keytab").getPath();
    conf.set("hadoop.security.authentication", "kerberos");
    conf.setBoolean("hadoop.security.authorization", true);
    conf.set("hadoop.rpc.protection", opts.rpcProtection);
    conf.set("hadoop.security.auth_to_local",
        "RULE:[1:$1@$0](.*@" + REALM.replace(".", "\\.") + ")s/@.*//\n"
            + "RULE:[2:$1@$0](.*@" + REALM.replace(".", "\\.") + ")s/@.*//\nDEFAULT");

    conf.set("dfs.namenode.kerberos.principal", SERVICE_PRINCIPAL);
    conf.set("dfs.namenode.keytab.file", serviceKeytab);
    conf.set("dfs.datanode.kerberos.principal", SERVICE_PRINCIPAL);
    conf.set("dfs.datanode.keytab.file", serviceKeytab);
    conf.set("dfs.web.authentication.kerberos.principal", HTTP_PRINCIPAL);
    conf.set("dfs.web.authentication.kerberos.keytab", httpKeytab);
    conf.set("dfs.namenode.kerberos.internal.spnego.principal", HTTP_PRINCIPAL);
    conf.setBoolean("dfs.block.access.token.enable", true);
    conf.set("dfs.http.policy", "HTTP_ONLY");
    // A secure DataNode on unprivileged ports without SASL data transfer.
    conf.setBoolean("ignore.secure.ports.for.testing", true);

    conf.set(YarnConfiguration.RM_PRINCIPAL, SERVICE_PRINCIPAL);
    conf.set(YarnConfiguration.RM_KEYTAB, serviceKeytab);
    conf.set(YarnConfiguration.NM_PRINCIPAL, SERVICE_PRINCIPAL);
    conf.set(YarnConfiguration.NM_KEYTAB, serviceKeytab);
    conf.set(YarnConfiguration.RM_WEBAPP_SPNEGO_USER_NAME_KEY, HTTP_PRINCIPAL);
    conf.set(YarnConfiguration.RM_WEBAPP_SPNEGO_KEYTAB_FILE_KEY, httpKeytab);
    conf.set(YarnConfiguration.NM_WEBAPP_SPNEGO_USER_NAME_KEY, HTTP_PRINCIPAL);
    conf.set(YarnConfiguration.NM_WEBAPP_SPNEGO_KEYTAB_FILE_KEY, httpKeytab);

    // SPNEGO on the web endpoints, the RM REST API included.
    conf.set("hadoop.http.filter.initializers",
        "org.apache.hadoop.security.AuthenticationFilterInitializer");
    conf.set("hadoop.http.authentication.type", "kerberos");
    conf.set("hadoop.http.authentication.simple.anonymous.allowed", "false");
    conf.set("hadoop.http.authentication.kerberos.principal", HTTP_PRINCIPAL);
    conf.set("hadoop.http.authentication.kerberos.keytab", httpKeytab);
  }

  private void startKdc() throws Exception {
    File kdcDir = new File(workDir, "kdc");
    kdcDir.mkdirs();
    java.util.Properties kconf = MiniKdc.createConf();
    kconf.setProperty(MiniKdc.KDC_BIND_ADDRESS, "127.0.0.1");
    kconf.setProperty(MiniKdc.KDC_PORT, String.valueOf(freePort()));
    kconf.setProperty(MiniKdc.ORG_NAME, "EXAMPLE");
    kconf.setProperty(MiniKdc.ORG_DOMAIN, "COM");
    kconf.setProperty(MiniKdc.MAX_TICKET_LIFETIME, String.valueOf(opts.ticketLifetimeMs));
    kdc = new MiniKdc(kconf, kdcDir);
    kdc.start();

    // Our own krb5.conf, readable by Java, MIT tools and gokrb5 alike.
    String krb5 = "[libdefaults]\n"
        + "  default_realm = " + REALM + "\n"
        + "  dns_lookup_kdc = false\n"
        + "  dns_lookup_realm = false\n"
        + "  rdns = false\n"
        + "  dns_canonicalize_hostname = false\n"
        + "  udp_preference_limit = 1\n"
        + "  forwardable = true\n"
        + "  default_tkt_enctypes = aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96\n"
        + "  default_tgs_enctypes = aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96\n"
        + "  permitted_enctypes = aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96\n"
        + "\n[realms]\n"
        + "  " + REALM + " = {\n"
        + "    kdc = 127.0.0.1:" + kdc.getPort() + "\n"
        + "  }\n"
        + "\n[domain_realm]\n"
        + "  localhost = " + REALM + "\n"
        + "  .localhost = " + REALM + "\n";
    File krb5Conf = new File(confDir, "krb5.conf");
    Files.writeString(krb5Conf.toPath(), krb5);
    System.setProperty("java.security.krb5.conf", krb5Conf.getPath());
    Class<?> cfg = Class.forName("sun.security.krb5.Config");
    cfg.getMethod("refresh").invoke(null);

    kdc.createPrincipal(new File(confDir, "hadoop.keytab"), "hadoop/localhost");
    kdc.createPrincipal(new File(confDir, "HTTP.keytab"), "HTTP/localhost");
    for (String u : USERS) {
      kdc.createPrincipal(new File(confDir, u + ".keytab"), u);
    }
  }

  // -------------------------------------------------------------- clusters

  private void startHdfs(Configuration conf) throws Exception {
    File base = new File(workDir, "dfs");
    MiniDFSCluster.Builder b = new MiniDFSCluster.Builder(conf, base).numDataNodes(1).format(true);
    nnIds.add("nn1");
    nnRpcPorts.add(opts.nnPort);
    nnHttpPorts.add(opts.nnHttpPort);
    if (opts.ha) {
      nnIds.add("nn2");
      nnRpcPorts.add(freePort());
      nnHttpPorts.add(freePort());
      // Addresses come per NameNode of the nameservice, not unsuffixed.
      conf.unset("dfs.namenode.rpc-address");
      conf.unset("dfs.namenode.http-address");
      MiniDFSNNTopology.NSConf ns = new MiniDFSNNTopology.NSConf(NAMESERVICE);
      for (int i = 0; i < nnIds.size(); i++) {
        ns.addNN(new MiniDFSNNTopology.NNConf(nnIds.get(i))
            .setIpcPort(nnRpcPorts.get(i)).setHttpPort(nnHttpPorts.get(i)));
      }
      b.nnTopology(new MiniDFSNNTopology().addNameservice(ns));
      // The standby asks the active to roll its edit log every 2 minutes
      // by RPC, on the port clients use, which tests counting a client's
      // NameNode calls would see; a failover rolls it anyway.
      conf.setLong("dfs.ha.log-roll.period", -1);
    } else {
      b.nameNodePort(opts.nnPort).nameNodeHttpPort(opts.nnHttpPort);
    }
    dfs = b.build();
    if (opts.ha) {
      // Both start as standbys; nn1 becomes active, and /nn/failover
      // moves the role from then on.
      dfs.transitionToActive(0);
      conf.set("dfs.nameservices", NAMESERVICE);
      conf.set("dfs.ha.namenodes." + NAMESERVICE, String.join(",", nnIds));
      for (int i = 0; i < nnIds.size(); i++) {
        String suffix = "." + NAMESERVICE + "." + nnIds.get(i);
        conf.set("dfs.namenode.rpc-address" + suffix, "127.0.0.1:" + nnRpcPorts.get(i));
        conf.set("dfs.namenode.http-address" + suffix, "127.0.0.1:" + nnHttpPorts.get(i));
      }
      conf.set("dfs.client.failover.proxy.provider." + NAMESERVICE,
          ConfiguredFailoverProxyProvider.class.getName());
      conf.set("fs.defaultFS", "hdfs://" + NAMESERVICE);
    } else {
      conf.set("fs.defaultFS", "hdfs://127.0.0.1:" + opts.nnPort);
    }
    dfs.waitActive();
    FileSystem fs = dfs.getFileSystem(0);
    mkdir(fs, "/tmp", (short) 01777, null);
    mkdir(fs, "/user", (short) 0755, null);
    List<String> homes = new ArrayList<>(List.of(USERS));
    homes.add(System.getProperty("user.name"));
    for (String u : homes) {
      mkdir(fs, "/user/" + u, (short) 0755, u);
    }
  }

  private static void mkdir(FileSystem fs, String p, short mode, String owner) throws IOException {
    Path path = new Path(p);
    fs.mkdirs(path);
    fs.setPermission(path, new FsPermission(mode));
    if (owner != null) {
      fs.setOwner(path, owner, "supergroup");
    }
  }

  private void startYarn(YarnConfiguration conf) throws Exception {
    if (opts.profiles) {
      // After HDFS: MiniDFSCluster sets its own topology mapping in conf.
      ProfilesBed.configureTopology(conf, confDir, opts.nodeManagers);
      yarn = ProfilesBed.cluster("spindle", opts.nodeManagers);
    } else {
      yarn = new MiniYARNCluster("spindle", opts.ha ? 2 : 1, opts.nodeManagers, 1, 1);
    }
    yarn.init(conf);
    yarn.start();
    if (!waitForNodes(opts.nodeManagers, 60_000)) {
      throw new IOException("NodeManagers did not register within 60 s");
    }
    for (int i = 0; i < opts.nodeManagers; i++) {
      NodeId id = yarn.getNodeManager(i).getNMContext().getNodeId();
      nmAddresses.put(i, id.toString());
    }
    if (opts.profiles) {
      ProfilesBed.checkDistinctHosts(nmAddresses.values());
      ProfilesBed.labelNode(activeRM(), opts.nodeManagers);
      profilesLabelled = true;
      writeSchedulerConf();
      ProfilesBed.refreshQueues(activeRM());
    }
  }

  private boolean waitForNodes(int want, long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (System.currentTimeMillis() < deadline) {
      ResourceManager rm = activeRM();
      if (rm != null) {
        int running = 0;
        for (RMNode n : rm.getRMContext().getRMNodes().values()) {
          if (n.getState() == NodeState.RUNNING) {
            running++;
          }
        }
        if (running >= want) {
          return true;
        }
      }
      Thread.sleep(100);
    }
    return false;
  }

  private ResourceManager activeRM() {
    for (int i = 0; i < rmIds.size(); i++) {
      ResourceManager rm = yarn.getResourceManager(i);
      if (rm == null) {
        continue;
      }
      if (!opts.ha) {
        return rm;
      }
      try {
        if (rm.getRMContext().getRMAdminService().getServiceStatus().getState()
            == HAServiceProtocol.HAServiceState.ACTIVE) {
          return rm;
        }
      } catch (IOException e) {
        // A stopping RM cannot report; it is not the active one.
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- output

  private void writeClientConf(Configuration conf) throws IOException {
    Configuration out = new Configuration(conf);
    // The bed's in-process local file system is this JVM's alone.
    out.unset("fs.file.impl");
    out.unset("fs.AbstractFileSystem.file.impl");
    // Per-RM identity belongs to the RMs, never to clients.
    out.unset(YarnConfiguration.RM_HA_ID);
    // Likewise the NameNodes' own identity and shared edits directory.
    for (String key : new String[] {"dfs.ha.namenode.id", "dfs.nameservice.id",
        "dfs.namenode.shared.edits.dir"}) {
      out.unset(key);
    }
    // Every new Configuration() in this JVM reads the site files on its
    // classpath, and the NodeManagers make one for each container they
    // launch and clean up. Read from conf/, the client configuration
    // (written last, below), that was 3 x 257 KB of XML (every property, defaults
    // included) on top of the 610 KB of *-default.xml: the largest part of
    // a NodeManager's CPU per container. This JVM reads site/ first, which
    // holds only the properties whose value differs from its defaults:
    // the same configuration, as a real cluster's site files are. Written
    // to all three files, since whichever is read last wins.
    Configuration defaults = new Configuration(); // before conf/ is written
    Configuration own = new Configuration(false);
    for (Map.Entry<String, String> e : out) {
      if (!e.getValue().equals(defaults.getRaw(e.getKey()))) {
        own.set(e.getKey(), e.getValue());
      }
    }
    writeSiteFiles(siteDir, own);
    writeSiteFiles(confDir, out);
  }

  private static void writeSiteFiles(File dir, Configuration conf) throws IOException {
    for (String name : new String[] {"core-site.xml", "hdfs-site.xml", "yarn-site.xml"}) {
      File tmp = new File(dir, name + ".tmp");
      try (OutputStream os = new FileOutputStream(tmp)) {
        conf.writeXml(os);
      }
      Files.move(tmp.toPath(), new File(dir, name).toPath(),
          StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  private void writeReady(double seconds) throws IOException {
    Configuration conf = yarn.getConfig();
    StringBuilder j = new StringBuilder();
    j.append("{\n");
    j.append("  \"conf_dir\": ").append(q(confDir.getPath())).append(",\n");
    j.append("  \"namenode\": ").append(q("hdfs://127.0.0.1:" + opts.nnPort)).append(",\n");
    j.append("  \"webhdfs\": ").append(q("http://127.0.0.1:" + opts.nnHttpPort)).append(",\n");
    j.append("  \"default_fs\": ").append(q(conf.get("fs.defaultFS"))).append(",\n");
    j.append("  \"nameservice\": ").append(opts.ha ? q(NAMESERVICE) : "null").append(",\n");
    j.append("  \"namenodes\": [");
    for (int i = 0; i < nnIds.size(); i++) {
      j.append(i == 0 ? "\n" : ",\n");
      j.append("    {\"id\": ").append(q(nnIds.get(i)))
          .append(", \"rpc\": ").append(q("127.0.0.1:" + nnRpcPorts.get(i)))
          .append(", \"http\": ").append(q("http://127.0.0.1:" + nnHttpPorts.get(i)))
          .append("}");
    }
    j.append("\n  ],\n");
    j.append("  \"resourcemanagers\": [");
    for (int i = 0; i < rmIds.size(); i++) {
      String id = rmIds.get(i);
      String suffix = opts.ha ? "." + id : "";
      j.append(i == 0 ? "\n" : ",\n");
      j.append("    {\"id\": ").append(q(id))
          .append(", \"rpc\": ").append(q(conf.get(YarnConfiguration.RM_ADDRESS + suffix)))
          .append(", \"scheduler\": ").append(q(conf.get(YarnConfiguration.RM_SCHEDULER_ADDRESS + suffix)))
          .append(", \"admin\": ").append(q(conf.get(YarnConfiguration.RM_ADMIN_ADDRESS + suffix)))
          .append(", \"web\": ").append(q("http://" + conf.get(YarnConfiguration.RM_WEBAPP_ADDRESS + suffix)))
          .append("}");
    }
    j.append("\n  ],\n");
    j.append("  \"nodemanagers\": ").append(opts.nodeManagers).append(",\n");
    j.append("  \"nodemanager_addresses\": [");
    int k = 0;
    for (String a : nmAddresses.values()) {
      j.append(k++ == 0 ? "" : ", ").append(q(a));
    }
    j.append("],\n");
    if (opts.kerberos) {
      j.append("  \"kerberos\": {\n");
      j.append("    \"realm\": ").append(q(REALM)).append(",\n");
      j.append("    \"kdc\": ").append(q("127.0.0.1:" + kdc.getPort())).append(",\n");
      j.append("    \"krb5_conf\": ").append(q(new File(confDir, "krb5.conf").getPath())).append(",\n");
      j.append("    \"service_principal\": ").append(q(SERVICE_PRINCIPAL)).append(",\n");
      j.append("    \"http_principal\": ").append(q(HTTP_PRINCIPAL)).append(",\n");
      j.append("    \"rpc_protection\": ").append(q(opts.rpcProtection)).append(",\n");
      j.append("    \"users\": {");
      for (int i = 0; i < USERS.length; i++) {
        j.append(i == 0 ? "" : ", ").append(q(USERS[i])).append(": ")
            .append(q(new File(confDir, USERS[i] + ".keytab").getPath()));
      }
      j.append("}\n  },\n");
    } else {
      j.append("  \"kerberos\": null,\n");
    }
    j.append("  \"ha\": ").append(opts.ha).append(",\n");
    j.append("  \"mapreduce\": ").append(opts.mapreduce).append(",\n");
    j.append("  \"memory_check\": ").append(opts.memoryCheck).append(",\n");
    if (opts.profiles) {
      j.append("  \"profiles\": ").append(ProfilesBed.readyJson(opts.nodeManagers)).append(",\n");
    }
    j.append("  \"hadoop_version\": ").append(q(org.apache.hadoop.util.VersionInfo.getVersion())).append(",\n");
    j.append("  \"java_opts\": ").append(q(JAVA17_OPTS)).append(",\n");
    j.append("  \"control\": ").append(q("http://127.0.0.1:" + control.getAddress().getPort())).append(",\n");
    j.append("  \"pid\": ").append(ProcessHandle.current().pid()).append(",\n");
    j.append("  \"startup_seconds\": ").append(String.format("%.2f", seconds)).append("\n");
    j.append("}\n");
    File tmp = new File(dir, "ready.json.tmp");
    Files.writeString(tmp.toPath(), j.toString());
    Files.move(tmp.toPath(), new File(dir, "ready.json").toPath(),
        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        default:
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.append('"').toString();
  }

  // --------------------------------------------------------------- control

  private static final Pattern NM_OP = Pattern.compile("^/nm/(\\d+)/(stop|start)$");
  private static final Pattern RM_OP = Pattern.compile("^/rm/(\\d+)/(stop|start)$");

  private void startControl() throws IOException {
    control = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    control.createContext("/", this::handleControl);
    control.setExecutor(java.util.concurrent.Executors.newSingleThreadExecutor());
    control.start();
  }

  private void handleControl(HttpExchange ex) throws IOException {
    int code = 200;
    String body;
    try {
      String path = ex.getRequestURI().getPath();
      if (!"POST".equals(ex.getRequestMethod())) {
        code = 405;
        body = "use POST";
      } else if ((path.equals("/rm/failover") || path.equals("/nn/failover")) && !opts.ha) {
        code = 409;
        body = "failover needs the HA test bed (HA=1)";
      } else {
        body = serviceUgi.doAs((PrivilegedExceptionAction<String>) () -> control(path));
        if (body == null) {
          code = 404;
          body = "unknown control path " + path
              + "; known: /nm/{i}/stop, /nm/{i}/start, /rm/{i}/stop, /rm/{i}/start, /rm/failover,"
              + " /nn/failover";
        }
      }
    } catch (Throwable t) {
      code = 500;
      body = "failed: " + t;
      t.printStackTrace();
    }
    byte[] b = (body + "\n").getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  /** Performs one fault; returns a description, or null for an unknown path. */
  private String control(String path) throws Exception {
    Matcher m = NM_OP.matcher(path);
    if (m.matches()) {
      int i = Integer.parseInt(m.group(1));
      if (i < 0 || i >= opts.nodeManagers) {
        throw new IllegalArgumentException("no NodeManager " + i);
      }
      return m.group(2).equals("stop") ? stopNM(i) : startNM(i);
    }
    m = RM_OP.matcher(path);
    if (m.matches()) {
      int i = Integer.parseInt(m.group(1));
      if (i < 0 || i >= rmIds.size()) {
        throw new IllegalArgumentException("no ResourceManager " + i);
      }
      if (m.group(2).equals("stop")) {
        yarn.stopResourceManager(i);
        return "stopped " + rmIds.get(i);
      }
      if (yarn.getResourceManager(i) != null) {
        return rmIds.get(i) + " already running";
      }
      yarn.restartResourceManager(i);
      if (!opts.ha) {
        waitForNodes(opts.nodeManagers, 60_000);
      }
      return "started " + rmIds.get(i);
    }
    if (path.equals("/rm/failover")) {
      return failover();
    }
    if (path.equals("/nn/failover")) {
      return nnFailover();
    }
    return null;
  }

  /**
   * Makes the other NameNode of ns1 active, as an administrator's forced
   * manual failover would: the active one becomes standby first (closing
   * its edit log segment), then the other catches up on the shared edits
   * and becomes active.
   */
  private String nnFailover() throws Exception {
    if (!opts.ha) {
      throw new IllegalStateException("failover needs the HA test bed (HA=1)");
    }
    int active = -1;
    for (int i = 0; i < nnIds.size(); i++) {
      if (dfs.getNameNode(i) != null && dfs.getNameNode(i).isActiveState()) {
        active = i;
      }
    }
    int next = active < 0 ? 0 : (active + 1) % nnIds.size();
    if (active >= 0) {
      dfs.transitionToStandby(active);
    }
    dfs.transitionToActive(next);
    return "failed over from " + (active < 0 ? "none" : nnIds.get(active)) + " to " + nnIds.get(next);
  }

  private NodeManager currentNM(int i) {
    NodeManager nm = restartedNMs.get(i);
    return nm != null ? nm : yarn.getNodeManager(i);
  }

  private String stopNM(int i) {
    NodeManager nm = currentNM(i);
    nm.stop();
    return "stopped NodeManager " + i + " (" + nmAddresses.get(i) + ")";
  }

  private String startNM(int i) throws Exception {
    NodeManager old = currentNM(i);
    if (old.getServiceState() == org.apache.hadoop.service.Service.STATE.STARTED) {
      return "NodeManager " + i + " already running";
    }
    // The same address gives the same NodeId, so the RM sees a node that
    // came back rather than a new one.
    Configuration conf = new YarnConfiguration(old.getConfig());
    conf.set(YarnConfiguration.NM_ADDRESS, nmAddresses.get(i));
    NodeManager nm = yarn.new CustomNodeManager();
    nm.init(conf);
    nm.start();
    restartedNMs.put(i, nm);
    long deadline = System.currentTimeMillis() + 60_000;
    while (System.currentTimeMillis() < deadline) {
      ResourceManager rm = activeRM();
      if (rm != null) {
        RMNode n = rm.getRMContext().getRMNodes().get(NodeId.fromString(nmAddresses.get(i)));
        if (n != null && n.getState() == NodeState.RUNNING) {
          return "started NodeManager " + i + " (" + nmAddresses.get(i) + ")";
        }
      }
      Thread.sleep(100);
    }
    throw new IOException("NodeManager " + i + " did not register within 60 s");
  }

  private String failover() throws Exception {
    if (!opts.ha) {
      throw new IllegalStateException("failover needs the HA test bed (HA=1)");
    }
    int active = -1;
    for (int i = 0; i < rmIds.size(); i++) {
      ResourceManager rm = yarn.getResourceManager(i);
      if (rm != null && rm.getRMContext().getRMAdminService().getServiceStatus().getState()
          == HAServiceProtocol.HAServiceState.ACTIVE) {
        active = i;
      }
    }
    int next = active < 0 ? 0 : (active + 1) % rmIds.size();
    if (yarn.getResourceManager(next) == null) {
      throw new IllegalStateException(rmIds.get(next) + " is stopped; start it first");
    }
    HAServiceProtocol.StateChangeRequestInfo req = new HAServiceProtocol.StateChangeRequestInfo(
        HAServiceProtocol.RequestSource.REQUEST_BY_USER_FORCED);
    if (active >= 0) {
      yarn.getResourceManager(active).getRMContext().getRMAdminService().transitionToStandby(req);
    }
    yarn.getResourceManager(next).getRMContext().getRMAdminService().transitionToActive(req);
    if (!waitForNodes(opts.nodeManagers, 60_000)) {
      throw new IOException("NodeManagers did not re-register with " + rmIds.get(next));
    }
    return "failed over from " + (active < 0 ? "none" : rmIds.get(active)) + " to " + rmIds.get(next);
  }

  // -------------------------------------------------------------- teardown

  synchronized void stop() {
    long start = System.nanoTime();
    // Whoever reads ready.json from now on must not find a bed there.
    new File(dir, "ready.json").delete();
    // Containers and localizers run in sessions of their own, which a
    // signal to our process group misses; ended first, the NodeManagers
    // need not wait for each in turn.
    int killed = killProcesses(workDir, false);
    if (control != null) {
      control.stop(0);
    }
    if (yarn != null) {
      // In parallel, and not waited for beyond NM_STOP_WAIT_MS: a stopping
      // NodeManager waits for its applications to finish, up to 6.25 s,
      // and an application that ran there counts until its logs are
      // deleted 3 h later, so after a long run each one took that long.
      // Their containers are killed already.
      List<NodeManager> nms = new ArrayList<>(restartedNMs.values());
      for (int i = 0; i < opts.nodeManagers; i++) {
        nms.add(yarn.getNodeManager(i));
      }
      timed("NodeManagers", () -> stopAll(nms));
      // Each RM directly: MiniYARNCluster's own stop first waits up to 5 s
      // per RM for running ApplicationMasters to finish.
      for (int i = 0; i < rmIds.size(); i++) {
        int rm = i;
        if (yarn.getResourceManager(rm) != null) {
          timed(rmIds.get(rm), () -> yarn.stopResourceManager(rm));
        }
      }
      timed("YARN", yarn::stop);
    }
    if (dfs != null) {
      timed("HDFS", dfs::shutdown);
    }
    if (kdc != null) {
      timed("KDC", kdc::stop);
    }
    // What the services started while stopping, e.g. an AM attempt.
    killed += killProcesses(workDir, true);
    System.err.printf("testbed: stopped in %.1f s (%d child processes killed)%n",
        (System.nanoTime() - start) / 1e9, killed);
    System.err.flush();
  }

  private static void stopAll(List<NodeManager> nms) {
    List<Thread> threads = new ArrayList<>();
    for (NodeManager nm : nms) {
      if (nm == null) {
        continue;
      }
      Thread t = new Thread(() -> {
        try {
          dropLogDeletions(nm);
          nm.stop();
        } catch (Throwable e) {
          System.err.println("testbed: stopping a NodeManager: " + e);
        }
      }, "testbed-stop-nm");
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
    long deadline = System.currentTimeMillis() + NM_STOP_WAIT_MS;
    for (Thread t : threads) {
      try {
        t.join(Math.max(1, deadline - System.currentTimeMillis()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (t.isAlive()) {
        System.err.println("testbed: NodeManagers still stopping after "
            + NM_STOP_WAIT_MS / 1000 + " s; going on without them");
        return;
      }
    }
  }

  /**
   * Drops the container log deletions a NodeManager has scheduled (3 h
   * after each application, yarn.nodemanager.log.retain-seconds). Its log
   * handler's stop waits up to 10 s for pending ones, so every NodeManager
   * that had run a container took 10 s to stop. The next start wipes the
   * logs with the rest of work/.
   */
  private static void dropLogDeletions(NodeManager nm) {
    Object cm = nm.getNMContext().getContainerManager();
    if (!(cm instanceof org.apache.hadoop.service.CompositeService)) {
      return;
    }
    for (org.apache.hadoop.service.Service s
        : ((org.apache.hadoop.service.CompositeService) cm).getServices()) {
      if (!(s instanceof NonAggregatingLogHandler)) {
        continue;
      }
      try {
        java.lang.reflect.Field f = NonAggregatingLogHandler.class.getDeclaredField("sched");
        f.setAccessible(true);
        java.util.concurrent.ScheduledThreadPoolExecutor sched =
            (java.util.concurrent.ScheduledThreadPoolExecutor) f.get(s);
        if (sched != null) {
          sched.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        }
      } catch (ReflectiveOperationException | RuntimeException e) {
        System.err.println("testbed: cannot drop log deletions: " + e);
      }
    }
  }

  private static void timed(String what, Runnable r) {
    long start = System.nanoTime();
    try {
      r.run();
    } catch (Throwable t) {
      System.err.println("testbed: stopping " + what + ": " + t);
    }
    System.err.printf("testbed: stopped %s in %.1f s%n", what, (System.nanoTime() - start) / 1e9);
  }

  /**
   * Signals every live process this JVM started, and every process in the
   * process group of one whose command line names work/: a container is a
   * session of its own (bash -c 'cmd' 1>work/.../stdout with cmd as its
   * child), and once its launcher is gone it is no longer our descendant.
   * Returns how many processes it signalled.
   */
  static int killProcesses(File workDir, boolean force) {
    long self = ProcessHandle.current().pid();
    Map<Long, Long> pgids = new LinkedHashMap<>();
    List<Long> groups = new ArrayList<>();
    String mark = workDir.getAbsolutePath() + "/";
    File[] procs = new File("/proc").listFiles();
    for (File d : procs == null ? new File[0] : procs) {
      long pid;
      try {
        pid = Long.parseLong(d.getName());
      } catch (NumberFormatException e) {
        continue;
      }
      try {
        String stat = Files.readString(new File(d, "stat").toPath());
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        pgids.put(pid, Long.parseLong(f[2]));
        String cmd = new String(Files.readAllBytes(new File(d, "cmdline").toPath()),
            StandardCharsets.UTF_8);
        if (pid != self && cmd.contains(mark)) {
          groups.add(Long.parseLong(f[2]));
        }
      } catch (IOException | RuntimeException e) {
        // Gone meanwhile, or not ours to read.
      }
    }
    // Never our own group: under `make testbed` it is make's, the terminal's job.
    Long own = pgids.get(self);
    groups.removeIf(g -> g.equals(own));
    List<ProcessHandle> targets = new ArrayList<>(ProcessHandle.current().descendants().toList());
    for (Map.Entry<Long, Long> e : pgids.entrySet()) {
      if (groups.contains(e.getValue()) && e.getKey() != self) {
        ProcessHandle.of(e.getKey()).ifPresent(targets::add);
      }
    }
    int n = 0;
    for (ProcessHandle p : targets) {
      if (force ? p.destroyForcibly() : p.destroy()) {
        n++;
      }
    }
    return n;
  }

  /**
   * Halts the JVM if shutting down takes longer than SHUTDOWN_GRACE_MS.
   * Hadoop's services can block their stop on their own timeouts (waiting
   * for containers, threads, RPC retries to a NameNode already gone), and
   * Hadoop's ShutdownHookManager runs its hooks beside ours with 30 s each;
   * none of that may keep a stopped test bed alive. Before halting it
   * prints where the shutdown hooks are stuck and kills every process this
   * JVM started.
   */
  static void haltAfterGrace(File workDir) {
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(SHUTDOWN_GRACE_MS);
      } catch (InterruptedException e) {
        return;
      }
      System.err.println("testbed: shutdown took over " + SHUTDOWN_GRACE_MS / 1000
          + " s; halting. Shutdown hooks still running:");
      for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
        StackTraceElement[] st = e.getValue();
        String name = e.getKey().getName();
        boolean hook = name.equals("testbed-shutdown") || name.startsWith("testbed-stop")
            || name.startsWith("shutdown-hook");
        for (StackTraceElement f : st) {
          hook |= f.getClassName().startsWith("org.apache.hadoop.util.ShutdownHookManager");
        }
        if (!hook) {
          continue;
        }
        System.err.println("  thread " + e.getKey().getName() + ":");
        for (int i = 0; i < Math.min(st.length, 30); i++) {
          System.err.println("    at " + st[i]);
        }
      }
      killProcesses(workDir, true);
      System.err.flush();
      System.out.flush();
      Runtime.getRuntime().halt(1);
    }, "testbed-halt-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  /** Ports freePort handed out, so that no two services of this bed get the same. */
  private static final java.util.Set<Integer> chosenPorts = new java.util.HashSet<>();

  /**
   * A free loopback port below the kernel's ephemeral range (32768 and up on
   * Linux): the ports the services bind later are chosen here and bound
   * seconds afterwards, and one from the ephemeral range could meanwhile be
   * taken by anything binding port 0 or connecting out (the DataNode, other
   * test beds and tests on the machine), failing the start with "Address
   * already in use".
   */
  static synchronized int freePort() throws IOException {
    java.util.Random rnd = new java.util.Random();
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 20_000 + rnd.nextInt(12_000);
      if (chosenPorts.contains(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
      } catch (IOException e) {
        continue;
      }
      chosenPorts.add(port);
      return port;
    }
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      chosenPorts.add(s.getLocalPort());
      return s.getLocalPort();
    }
  }

  static void deleteRecursively(File f) {
    File[] kids = f.listFiles();
    if (kids != null) {
      for (File k : kids) {
        if (!Files.isSymbolicLink(k.toPath())) {
          deleteRecursively(k);
        } else {
          k.delete();
        }
      }
    }
    f.delete();
  }

  // --------------------------------------------------------------- options

  static final class Options {
    File dir;
    boolean kerberos;
    boolean ha;
    boolean exitOnStdinEof;
    String rpcProtection = "authentication,integrity,privacy";
    int nodeManagers = 2;
    int nnPort;
    int nnHttpPort;
    long tokenRenewMs = 24L * 3600 * 1000;
    long tokenMaxLifetimeMs = 7L * 24 * 3600 * 1000;
    long ticketLifetimeMs = 24L * 3600 * 1000;
    /** AMRMToken master key rolling interval; 0 keeps Hadoop's (a day). */
    long amrmRollingSecs;
    /** Racks, a custom resource, a node label, placement constraints, OPPORTUNISTIC. */
    boolean profiles;
    /** The NodeManagers run MapReduce's shuffle service (mapreduce_shuffle). */
    boolean mapreduce;
    /** The NodeManagers kill containers exceeding their physical memory. */
    boolean memoryCheck;

    static Options parse(String[] args) throws IOException {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        String v = i + 1 < args.length ? args[i + 1] : null;
        switch (a) {
          case "--dir": o.dir = new File(need(a, v)); i++; break;
          case "--kerberos": o.kerberos = true; break;
          case "--ha": o.ha = true; break;
          case "--exit-on-stdin-eof": o.exitOnStdinEof = true; break;
          case "--rpc-protection": o.rpcProtection = need(a, v); i++; break;
          case "--nodemanagers": o.nodeManagers = Integer.parseInt(need(a, v)); i++; break;
          case "--token-renew-interval-ms": o.tokenRenewMs = Long.parseLong(need(a, v)); i++; break;
          case "--token-max-lifetime-ms": o.tokenMaxLifetimeMs = Long.parseLong(need(a, v)); i++; break;
          case "--ticket-lifetime-ms": o.ticketLifetimeMs = Long.parseLong(need(a, v)); i++; break;
          case "--amrm-token-rolling-interval-secs":
            o.amrmRollingSecs = Long.parseLong(need(a, v)); i++; break;
          case "--profiles": o.profiles = true; break;
          case "--mapreduce": o.mapreduce = true; break;
          case "--memory-check": o.memoryCheck = true; break;
          default: throw new IllegalArgumentException("unknown argument " + a + "\n" + USAGE);
        }
      }
      if (o.dir == null) {
        throw new IllegalArgumentException("--dir is required\n" + USAGE);
      }
      if (o.profiles && o.ha) {
        throw new IllegalArgumentException("--profiles runs one ResourceManager, not --ha");
      }
      for (String level : o.rpcProtection.split(",")) {
        if (!List.of("authentication", "integrity", "privacy").contains(level.trim())) {
          throw new IllegalArgumentException("--rpc-protection takes authentication, integrity"
              + " or privacy (or a comma-separated list of them), not " + level);
        }
      }
      o.nnPort = freePort();
      o.nnHttpPort = freePort();
      return o;
    }

    private static String need(String flag, String v) {
      if (v == null) {
        throw new IllegalArgumentException(flag + " needs a value\n" + USAGE);
      }
      return v;
    }

    static final String USAGE = "usage: TestBed --dir DIR [--kerberos] [--ha]"
        + " [--rpc-protection authentication|integrity|privacy[,...]] [--nodemanagers N]"
        + " [--token-renew-interval-ms MS] [--token-max-lifetime-ms MS] [--ticket-lifetime-ms MS]"
        + " [--amrm-token-rolling-interval-secs S] [--profiles] [--mapreduce] [--memory-check]"
        + " [--exit-on-stdin-eof]";
  }
}
