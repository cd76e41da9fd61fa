package io.spindle.testbed;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.DataInputByteBuffer;
import org.apache.hadoop.io.DataOutputBuffer;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.thirdparty.protobuf.DescriptorProtos.FileDescriptorSet;
import org.apache.hadoop.thirdparty.protobuf.Descriptors.FileDescriptor;
import org.apache.hadoop.yarn.api.protocolrecords.AllocateResponse;
import org.apache.hadoop.yarn.api.protocolrecords.impl.pb.AllocateResponsePBImpl;
import org.apache.hadoop.yarn.api.records.ApplicationAccessType;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ApplicationResourceUsageReport;
import org.apache.hadoop.yarn.api.records.ApplicationSubmissionContext;
import org.apache.hadoop.yarn.api.records.ApplicationTimeoutType;
import org.apache.hadoop.yarn.api.records.Container;
import org.apache.hadoop.yarn.api.records.ContainerId;
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext;
import org.apache.hadoop.yarn.api.records.ContainerRetryContext;
import org.apache.hadoop.yarn.api.records.ContainerRetryPolicy;
import org.apache.hadoop.yarn.api.records.ContainerState;
import org.apache.hadoop.yarn.api.records.ContainerStatus;
import org.apache.hadoop.yarn.api.records.ExecutionType;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.LocalResource;
import org.apache.hadoop.yarn.api.records.LocalResourceType;
import org.apache.hadoop.yarn.api.records.LocalResourceVisibility;
import org.apache.hadoop.yarn.api.records.LogAggregationContext;
import org.apache.hadoop.yarn.api.records.NMToken;
import org.apache.hadoop.yarn.api.records.NodeId;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.NodeState;
import org.apache.hadoop.yarn.api.records.PreemptionContainer;
import org.apache.hadoop.yarn.api.records.PreemptionMessage;
import org.apache.hadoop.yarn.api.records.Priority;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.api.records.ResourceInformation;
import org.apache.hadoop.yarn.api.records.ResourceRequest;
import org.apache.hadoop.yarn.api.records.StrictPreemptionContract;
import org.apache.hadoop.yarn.api.records.Token;
import org.apache.hadoop.yarn.api.records.URL;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.api.records.impl.pb.ApplicationReportPBImpl;
import org.apache.hadoop.yarn.api.records.impl.pb.ApplicationSubmissionContextPBImpl;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.proto.YarnProtos.ApplicationSubmissionContextProto;
import org.apache.hadoop.yarn.util.Records;
import org.apache.hadoop.yarn.util.resource.ResourceUtils;

/**
 * Shows how Hadoop's own Java records read protobuf messages that Spindle's
 * Go code writes, and writes messages built with Hadoop's Java API for the Go
 * code to read. The Go test (yarn/javaproof_test.go, build tag integration)
 * runs it once with a directory:
 *
 * <pre>ProtoDump DIR</pre>
 *
 * Reads DIR/submission-*.bin (serialized ApplicationSubmissionContextProto)
 * and DIR/ids.txt (lines "KIND STRING"), and writes:
 *
 * <ul>
 *   <li>submission-*.json: the Java-side view of each submission, through
 *       ApplicationSubmissionContextPBImpl's getters (URL.toPath, the tokens
 *       read with Credentials.readTokenStorageStream, ...);
 *   <li>ids.json: Hadoop's parse-then-print of each id;
 *   <li>descriptors.bin: the FileDescriptorSet of the YARN and security protos
 *       compiled into hadoop-yarn-api and hadoop-common;
 *   <li>java-submission.bin, java-report.bin, java-allocate.bin: messages
 *       built with Hadoop's record API.
 * </ul>
 *
 * The custom resource type yarn.io/gpu is registered, as a cluster with GPUs
 * declares it in resource-types.xml.
 */
public final class ProtoDump {
  private ProtoDump() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: ProtoDump DIR");
      System.exit(2);
    }
    Configuration conf = new YarnConfiguration();
    conf.set(YarnConfiguration.RESOURCE_TYPES, "yarn.io/gpu");
    ResourceUtils.resetResourceTypes(conf);

    Path dir = Path.of(args[0]);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    try (var files = Files.list(dir)) {
      for (Path in : (Iterable<Path>) files::iterator) {
        String name = in.getFileName().toString();
        if (name.startsWith("submission-") && name.endsWith(".bin")) {
          ApplicationSubmissionContext ctx =
              new ApplicationSubmissionContextPBImpl(
                  ApplicationSubmissionContextProto.parseFrom(Files.readAllBytes(in)));
          Path out = dir.resolve(name.replace(".bin", ".json"));
          json.writeValue(out.toFile(), submissionView(ctx));
        }
      }
    }
    Path ids = dir.resolve("ids.txt");
    if (Files.exists(ids)) {
      json.writeValue(dir.resolve("ids.json").toFile(), idsView(Files.readAllLines(ids)));
    }
    Files.write(dir.resolve("descriptors.bin"), descriptors().toByteArray());
    Files.write(dir.resolve("java-submission.bin"), javaSubmission());
    Files.write(dir.resolve("java-report.bin"), javaReport());
    Files.write(dir.resolve("java-allocate.bin"), javaAllocate());
  }

  // ---- Java's view of Go's messages -------------------------------------

  static Map<String, Object> submissionView(ApplicationSubmissionContext ctx) throws Exception {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("applicationId", String.valueOf(ctx.getApplicationId()));
    v.put("name", ctx.getApplicationName());
    v.put("queue", ctx.getQueue());
    v.put("priority", ctx.getPriority() == null ? null : ctx.getPriority().getPriority());
    v.put("resource", resourceView(ctx.getResource()));
    v.put("type", ctx.getApplicationType());
    v.put("tags", new ArrayList<>(new java.util.TreeSet<>(ctx.getApplicationTags())));
    v.put("maxAppAttempts", ctx.getMaxAppAttempts());
    v.put("attemptFailuresValidityInterval", ctx.getAttemptFailuresValidityInterval());
    v.put("keepContainersAcrossApplicationAttempts", ctx.getKeepContainersAcrossApplicationAttempts());
    v.put("unmanagedAM", ctx.getUnmanagedAM());
    v.put("cancelTokensWhenComplete", ctx.getCancelTokensWhenComplete());
    v.put("nodeLabelExpression", ctx.getNodeLabelExpression());
    List<Object> amReqs = new ArrayList<>();
    if (ctx.getAMContainerResourceRequests() != null) {
      for (ResourceRequest r : ctx.getAMContainerResourceRequests()) {
        amReqs.add(resourceRequestView(r));
      }
    }
    v.put("amContainerResourceRequests", amReqs);
    LogAggregationContext l = ctx.getLogAggregationContext();
    if (l != null) {
      Map<String, Object> lv = new LinkedHashMap<>();
      lv.put("includePattern", l.getIncludePattern());
      lv.put("excludePattern", l.getExcludePattern());
      lv.put("rolledLogsIncludePattern", l.getRolledLogsIncludePattern());
      lv.put("rolledLogsExcludePattern", l.getRolledLogsExcludePattern());
      lv.put("policyClassName", l.getLogAggregationPolicyClassName());
      lv.put("policyParameters", l.getLogAggregationPolicyParameters());
      v.put("logAggregationContext", lv);
    }
    Map<String, Object> timeouts = new TreeMap<>();
    for (Map.Entry<ApplicationTimeoutType, Long> e : ctx.getApplicationTimeouts().entrySet()) {
      timeouts.put(e.getKey().name(), e.getValue());
    }
    v.put("applicationTimeouts", timeouts);
    v.put("schedulingProperties", new TreeMap<>(ctx.getApplicationSchedulingPropertiesMap()));
    v.put("am", launchContextView(ctx.getAMContainerSpec()));
    return v;
  }

  static Map<String, Object> resourceView(Resource r) {
    if (r == null) {
      return null;
    }
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("memory", r.getMemorySize());
    v.put("vcores", r.getVirtualCores());
    Map<String, Object> custom = new TreeMap<>();
    for (ResourceInformation ri : r.getResources()) {
      String n = ri.getName();
      if (!n.equals(ResourceInformation.MEMORY_URI) && !n.equals(ResourceInformation.VCORES_URI)) {
        custom.put(n, ri.getValue());
      }
    }
    v.put("custom", custom);
    return v;
  }

  static Map<String, Object> resourceRequestView(ResourceRequest r) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("priority", r.getPriority().getPriority());
    v.put("resourceName", r.getResourceName());
    v.put("capability", resourceView(r.getCapability()));
    v.put("numContainers", r.getNumContainers());
    v.put("relaxLocality", r.getRelaxLocality());
    v.put("nodeLabelExpression", r.getNodeLabelExpression());
    v.put("executionType", r.getExecutionTypeRequest().getExecutionType().name());
    v.put("allocationRequestId", r.getAllocationRequestId());
    return v;
  }

  static Map<String, Object> launchContextView(ContainerLaunchContext clc) throws Exception {
    Map<String, Object> v = new LinkedHashMap<>();
    Map<String, Object> resources = new TreeMap<>();
    for (Map.Entry<String, LocalResource> e : clc.getLocalResources().entrySet()) {
      LocalResource lr = e.getValue();
      Map<String, Object> rv = new LinkedHashMap<>();
      URL url = lr.getResource();
      org.apache.hadoop.fs.Path path = url.toPath();
      rv.put("path", path.toString());
      rv.put("port", url.getPort());
      // The URL Java itself would build for that path: equal protos prove
      // Go split the URL exactly as URL.fromURI does.
      rv.put("sameAsFromURI", URL.fromURI(path.toUri()).equals(url));
      rv.put("size", lr.getSize());
      rv.put("timestamp", lr.getTimestamp());
      rv.put("type", lr.getType() == null ? null : lr.getType().name());
      rv.put("visibility", lr.getVisibility() == null ? null : lr.getVisibility().name());
      rv.put("pattern", lr.getPattern());
      rv.put("shouldBeUploadedToSharedCache", lr.getShouldBeUploadedToSharedCache());
      resources.put(e.getKey(), rv);
    }
    v.put("localResources", resources);
    v.put("environment", new TreeMap<>(clc.getEnvironment()));
    v.put("commands", clc.getCommands());
    Map<String, Object> acls = new TreeMap<>();
    for (Map.Entry<ApplicationAccessType, String> e : clc.getApplicationACLs().entrySet()) {
      acls.put(e.getKey().name(), e.getValue());
    }
    v.put("acls", acls);
    Map<String, Object> serviceData = new TreeMap<>();
    for (Map.Entry<String, ByteBuffer> e : clc.getServiceData().entrySet()) {
      serviceData.put(e.getKey(), b64(e.getValue()));
    }
    v.put("serviceData", serviceData);
    ByteBuffer tokens = clc.getTokens();
    if (tokens != null) {
      byte[] raw = bytes(tokens);
      Credentials creds = new Credentials();
      creds.readTokenStorageStream(new DataInputStream(new ByteArrayInputStream(raw)));
      Map<String, Object> cv = new LinkedHashMap<>();
      cv.put("format", raw.length > 4 ? raw[4] : -1);
      Map<String, Object> toks = new TreeMap<>();
      for (Text alias : creds.getTokenMap().keySet()) {
        org.apache.hadoop.security.token.Token<?> t = creds.getToken(alias);
        Map<String, Object> tv = new LinkedHashMap<>();
        tv.put("kind", t.getKind().toString());
        tv.put("service", t.getService().toString());
        tv.put("identifier", Base64.getEncoder().encodeToString(t.getIdentifier()));
        tv.put("password", Base64.getEncoder().encodeToString(t.getPassword()));
        toks.put(alias.toString(), tv);
      }
      cv.put("tokens", toks);
      Map<String, Object> secrets = new TreeMap<>();
      for (Text alias : creds.getAllSecretKeys()) {
        secrets.put(alias.toString(), Base64.getEncoder().encodeToString(creds.getSecretKey(alias)));
      }
      cv.put("secrets", secrets);
      v.put("credentials", cv);
    }
    ByteBuffer tokensConf = clc.getTokensConf();
    if (tokensConf != null) {
      // As the ResourceManager reads it (BuilderUtils.parseTokensConf).
      Configuration tc = new Configuration(false);
      DataInputByteBuffer in = new DataInputByteBuffer();
      in.reset(tokensConf.duplicate());
      tc.readFields(in);
      Map<String, Object> cv = new TreeMap<>();
      for (Map.Entry<String, String> e : tc) {
        cv.put(e.getKey(), e.getValue());
      }
      v.put("tokensConf", cv);
    }
    ContainerRetryContext rc = clc.getContainerRetryContext();
    if (rc != null) {
      Map<String, Object> rv = new LinkedHashMap<>();
      rv.put("policy", rc.getRetryPolicy().name());
      rv.put("errorCodes", rc.getErrorCodes() == null ? null : new ArrayList<>(new java.util.TreeSet<>(rc.getErrorCodes())));
      rv.put("maxRetries", rc.getMaxRetries());
      rv.put("retryInterval", rc.getRetryInterval());
      rv.put("failuresValidityInterval", rc.getFailuresValidityInterval());
      v.put("retry", rv);
    }
    return v;
  }

  static List<Map<String, Object>> idsView(List<String> lines) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      String[] kv = line.split(" ", 2);
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("kind", kv[0]);
      v.put("in", kv[1]);
      try {
        switch (kv[0]) {
          case "application":
            v.put("out", ApplicationId.fromString(kv[1]).toString());
            break;
          case "attempt":
            v.put("out", ApplicationAttemptId.fromString(kv[1]).toString());
            break;
          case "container":
            ContainerId c = ContainerId.fromString(kv[1]);
            v.put("out", c.toString());
            v.put("id", c.getContainerId());
            break;
          case "containerFields": {
            // "ts app attempt id": print the id Java builds from numbers.
            String[] f = kv[1].split(" ");
            ApplicationAttemptId att = ApplicationAttemptId.newInstance(
                ApplicationId.newInstance(Long.parseLong(f[0]), Integer.parseInt(f[1])), Integer.parseInt(f[2]));
            v.put("out", ContainerId.newContainerId(att, Long.parseLong(f[3])).toString());
            break;
          }
          case "node":
            v.put("out", NodeId.fromString(kv[1]).toString());
            break;
          default:
            v.put("error", "unknown kind");
        }
      } catch (RuntimeException e) {
        v.put("error", e.toString());
      }
      out.add(v);
    }
    return out;
  }

  static FileDescriptorSet descriptors() {
    FileDescriptorSet.Builder set = FileDescriptorSet.newBuilder();
    for (FileDescriptor fd : new FileDescriptor[] {
        org.apache.hadoop.security.proto.SecurityProtos.getDescriptor(),
        org.apache.hadoop.yarn.proto.YarnProtos.getDescriptor(),
        org.apache.hadoop.yarn.proto.YarnServiceProtos.getDescriptor()}) {
      set.addFile(fd.toProto());
    }
    return set.build();
  }

  // ---- messages built with Hadoop's record API, for Go to read ------------
  // Every value here is mirrored by the expectations in
  // yarn/javaproof_test.go; change both together.

  static final long TS = 1700000000000L;

  static byte[] javaSubmission() throws Exception {
    ApplicationId appId = ApplicationId.newInstance(TS, 42);
    Map<String, LocalResource> resources = new HashMap<>();
    resources.put("app.jar", LocalResource.newInstance(
        URL.fromURI(new URI("hdfs://nn.example.com:8020/user/bob/app.jar")),
        LocalResourceType.FILE, LocalResourceVisibility.APPLICATION, 1234L, 1700000000111L));
    resources.put("deps", LocalResource.newInstance(
        URL.fromURI(new URI("hdfs://nn.example.com/user/bob/deps.tgz")),
        LocalResourceType.ARCHIVE, LocalResourceVisibility.PUBLIC, 99L, 1700000000222L));
    Map<String, String> env = new HashMap<>();
    env.put("CLASSPATH", "{{PWD}}<CPS>app.jar");
    env.put("JAVA_HOME", "/usr/lib/jvm");
    Credentials creds = new Credentials();
    creds.addToken(new Text("hdfs"), new org.apache.hadoop.security.token.Token<>(
        "id-bytes".getBytes(StandardCharsets.UTF_8), "pw-bytes".getBytes(StandardCharsets.UTF_8),
        new Text("HDFS_DELEGATION_TOKEN"), new Text("127.0.0.1:8020")));
    creds.addSecretKey(new Text("k"), new byte[] {9, 8, 7});
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    creds.writeTokenStorageToStream(new DataOutputStream(buf));
    Map<ApplicationAccessType, String> acls = new HashMap<>();
    acls.put(ApplicationAccessType.VIEW_APP, "alice");
    ContainerLaunchContext clc = ContainerLaunchContext.newInstance(resources, env,
        Arrays.asList("java", "-jar", "app.jar"),
        Collections.singletonMap("svc", ByteBuffer.wrap(new byte[] {1})),
        ByteBuffer.wrap(buf.toByteArray()), acls);
    // Written by Configuration.write, which records each property's
    // source ("programmatically") as a compressed string array.
    Configuration tc = new Configuration(false);
    tc.set("dfs.nameservices", "remote");
    DataOutputBuffer tcBuf = new DataOutputBuffer();
    tc.write(tcBuf);
    clc.setTokensConf(ByteBuffer.wrap(tcBuf.getData(), 0, tcBuf.getLength()));
    Resource res = Resource.newInstance(1536, 2);
    res.setResourceValue("yarn.io/gpu", 1);
    ApplicationSubmissionContext ctx = ApplicationSubmissionContext.newInstance(
        appId, "java-built", "root.q", Priority.newInstance(2), clc, false, true, 3, res, "MAPREDUCE",
        false, "label-x", "am-label");
    ctx.setApplicationTags(new java.util.HashSet<>(Arrays.asList("t1")));
    ctx.setAttemptFailuresValidityInterval(30000);
    ctx.setApplicationTimeouts(Collections.singletonMap(ApplicationTimeoutType.LIFETIME, 600L));
    return ((ApplicationSubmissionContextPBImpl) ctx).getProto().toByteArray();
  }

  static byte[] javaReport() {
    ApplicationId appId = ApplicationId.newInstance(TS, 42);
    ApplicationAttemptId att = ApplicationAttemptId.newInstance(appId, 1);
    ApplicationResourceUsageReport usage = ApplicationResourceUsageReport.newInstance(
        2, 0, Resource.newInstance(2048, 2), Resource.newInstance(0, 0), Resource.newInstance(2048, 2),
        new HashMap<>(Map.of("memory-mb", 4096L, "vcores", 4L)), 0.5f, 0.25f, new HashMap<>(Map.of("memory-mb", 10L)));
    ApplicationReport r = ApplicationReport.newInstance(appId, att, "bob", "root.q", "java-built",
        "am.example.com", 4242, null, YarnApplicationState.RUNNING, "all good",
        "http://rm:8088/proxy/application_1700000000000_0042/", 1, 2, 3,
        FinalApplicationStatus.UNDEFINED, usage, "http://am:4243/", 0.75f, "MAPREDUCE",
        Token.newInstance("amrm-id".getBytes(StandardCharsets.UTF_8), "YARN_AM_RM_TOKEN",
            "amrm-pw".getBytes(StandardCharsets.UTF_8), ""));
    r.setApplicationTags(new java.util.HashSet<>(Arrays.asList("t1")));
    r.setPriority(Priority.newInstance(2));
    r.setUnmanagedApp(true);
    // Set every time explicitly rather than trust newInstance's argument
    // order: submitted, launched, started; not finished (0).
    r.setSubmitTime(TS + 500);
    r.setLaunchTime(TS + 700);
    r.setStartTime(TS + 1000);
    r.setFinishTime(0);
    return ((ApplicationReportPBImpl) r).getProto().toByteArray();
  }

  static byte[] javaAllocate() {
    ApplicationAttemptId att = ApplicationAttemptId.newInstance(ApplicationId.newInstance(TS, 42), 1);
    ContainerId c2 = ContainerId.newContainerId(att, (3L << 40) | 2);
    NodeId node = NodeId.newInstance("nm1.example.com", 45454);
    Container container = Container.newInstance(c2, node, "nm1.example.com:8042",
        Resource.newInstance(1024, 1), Priority.newInstance(1),
        Token.newInstance("ctok-id".getBytes(StandardCharsets.UTF_8), "ContainerToken",
            "ctok-pw".getBytes(StandardCharsets.UTF_8), "127.0.0.1:45454"));
    container.setAllocationRequestId(7);
    ContainerStatus done = ContainerStatus.newInstance(ContainerId.newContainerId(att, 1),
        ContainerState.COMPLETE, "Container killed by the ApplicationMaster.", -105);
    NodeReport lost = NodeReport.newInstance(NodeId.newInstance("nm2.example.com", 45454), NodeState.LOST,
        "nm2.example.com:8042", "/default-rack", Resource.newInstance(0, 0), Resource.newInstance(8192, 8),
        0, "lost", TS + 5);
    NMToken nmToken = NMToken.newInstance(node, Token.newInstance("nm-id".getBytes(StandardCharsets.UTF_8),
        "NMToken", "nm-pw".getBytes(StandardCharsets.UTF_8), "nm1.example.com:45454"));
    PreemptionMessage preempt = Records.newRecord(PreemptionMessage.class);
    StrictPreemptionContract strict = Records.newRecord(StrictPreemptionContract.class);
    strict.setContainers(Collections.singleton(PreemptionContainer.newInstance(c2)));
    preempt.setStrictContract(strict);
    AllocateResponse resp = AllocateResponse.newInstance(5, Collections.singletonList(done),
        Collections.singletonList(container), Collections.singletonList(lost), Resource.newInstance(4096, 4),
        null, 3, preempt, Collections.singletonList(nmToken));
    resp.setAMRMToken(Token.newInstance("amrm2-id".getBytes(StandardCharsets.UTF_8), "YARN_AM_RM_TOKEN",
        "amrm2-pw".getBytes(StandardCharsets.UTF_8), ""));
    resp.setApplicationPriority(Priority.newInstance(2));
    return ((AllocateResponsePBImpl) resp).getProto().toByteArray();
  }

  static String b64(ByteBuffer b) {
    return Base64.getEncoder().encodeToString(bytes(b));
  }

  static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }
}
