package io.spindle.testbed;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeysPublic;
import org.apache.hadoop.net.TableMapping;
import org.apache.hadoop.service.Service;
import org.apache.hadoop.yarn.api.records.NodeId;
import org.apache.hadoop.yarn.api.records.NodeLabel;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.api.protocolrecords.AddToClusterNodeLabelsRequest;
import org.apache.hadoop.yarn.server.api.protocolrecords.RefreshQueuesRequest;
import org.apache.hadoop.yarn.server.api.protocolrecords.ReplaceLabelsOnNodeRequest;
import org.apache.hadoop.yarn.server.resourcemanager.AdminService;
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity.CapacitySchedulerConfiguration;
import org.apache.hadoop.yarn.util.resource.DominantResourceCalculator;

/**
 * The profiles bed (--profiles): what a container negotiation engine needs
 * to show that it honours container profiles.
 *
 * <ul>
 *   <li>Each NodeManager listens on an address of its own, 127.0.0.(i+2),
 *       which no name resolves back to, so its NodeId host is that address:
 *       the RM tells the nodes apart by host (racks, locality, the
 *       blacklist), and a container's NM_HOST names its node.
 *   <li>Racks: a TableMapping puts NodeManager i on /rack{i}.
 *   <li>A countable resource type, yarn.io/gpu, GPUS_PER_NODE on every
 *       NodeManager (not per node: ResourceUtils caches node resources once
 *       per JVM, and all NodeManagers share this one), scheduled by the
 *       DominantResourceCalculator, which counts every resource type.
 *   <li>The exclusive node label LABEL on the last NodeManager, which the
 *       default queue may use in full: only asks naming the label run
 *       there, and unlabelled asks never do.
 *   <li>The placement-constraint handler "scheduler", and OPPORTUNISTIC
 *       containers (queued at the NodeManagers).
 * </ul>
 */
final class ProfilesBed {
  static final String GPU = "yarn.io/gpu";
  static final int GPUS_PER_NODE = 2;
  static final String LABEL = "fast";

  private ProfilesBed() {}

  static String host(int i) {
    return "127.0.0." + (i + 2);
  }

  static String rack(int i) {
    return "/rack" + i;
  }

  /** The NodeManager carrying LABEL: the last one. */
  static int labelled(int nodeManagers) {
    return nodeManagers - 1;
  }

  static void configure(Configuration conf, File workDir) {
    conf.set(YarnConfiguration.RESOURCE_TYPES, GPU);
    conf.setLong(YarnConfiguration.NM_RESOURCES_PREFIX + GPU, GPUS_PER_NODE);
    conf.setBoolean(YarnConfiguration.NODE_LABELS_ENABLED, true);
    conf.set(YarnConfiguration.FS_NODE_LABELS_STORE_ROOT_DIR,
        new File(workDir, "node-labels").toURI().toString());
    conf.set(YarnConfiguration.RM_PLACEMENT_CONSTRAINTS_HANDLER,
        YarnConfiguration.SCHEDULER_RM_PLACEMENT_CONSTRAINTS_HANDLER);
    conf.setBoolean(YarnConfiguration.OPPORTUNISTIC_CONTAINER_ALLOCATION_ENABLED, true);
    // A queue length above 0 makes MiniYARNCluster's NodeManagers queue
    // OPPORTUNISTIC containers, and the RM place them only on such nodes.
    conf.setInt(YarnConfiguration.NM_OPPORTUNISTIC_CONTAINERS_MAX_QUEUE_LENGTH, 16);
    conf.setLong(YarnConfiguration.NM_CONTAINER_QUEUING_SORTING_NODES_INTERVAL_MS, 100);
  }

  /**
   * The scheduler's part: every resource type counted, and (once the label
   * exists: the CapacityScheduler checks queue labels against the cluster's)
   * the default queue given all of LABEL.
   */
  static void configureScheduler(Configuration cs, boolean labelled) {
    cs.set(CapacitySchedulerConfiguration.RESOURCE_CALCULATOR_CLASS,
        DominantResourceCalculator.class.getName());
    // A queue refresh reads the maximum allocation of each resource type
    // from this file alone; without the type the refresh would lower the
    // GPU maximum, which the scheduler refuses.
    cs.set(YarnConfiguration.RESOURCE_TYPES, GPU);
    if (!labelled) {
      return;
    }
    for (String q : new String[] {"root", "root.default"}) {
      String p = CapacitySchedulerConfiguration.PREFIX + q + "."
          + CapacitySchedulerConfiguration.ACCESSIBLE_NODE_LABELS;
      cs.set(p, LABEL);
      cs.set(p + "." + LABEL + "." + CapacitySchedulerConfiguration.CAPACITY, "100");
    }
  }

  /**
   * Racks by table. Set after HDFS starts, since MiniDFSCluster sets its
   * own mapping in the configuration it is given.
   */
  static void configureTopology(Configuration conf, File confDir, int nodeManagers)
      throws IOException {
    StringBuilder table = new StringBuilder();
    for (int i = 0; i < nodeManagers; i++) {
      table.append(host(i)).append(' ').append(rack(i)).append('\n');
    }
    File f = new File(confDir, "topology.table");
    Files.writeString(f.toPath(), table.toString());
    conf.set(CommonConfigurationKeysPublic.NET_TOPOLOGY_NODE_SWITCH_MAPPING_IMPL_KEY,
        TableMapping.class.getName());
    conf.set(CommonConfigurationKeysPublic.NET_TOPOLOGY_TABLE_MAPPING_FILE_KEY, f.getPath());
  }

  /**
   * A MiniYARNCluster (one RM) whose NodeManager i listens on host(i).
   * MiniYARNCluster gives every NodeManager the machine's host name and
   * offers no hook per NodeManager, so as it adds each NodeManager's
   * service, the NodeManager it has just created is swapped for one that
   * sets its own address before it initialises.
   */
  static MiniYARNCluster cluster(String name, int nodeManagers) {
    return new MiniYARNCluster(name, 1, nodeManagers, 1, 1) {
      private int next;

      @Override
      protected void addService(Service s) {
        if (s.getClass().getSimpleName().equals("NodeManagerWrapper")) {
          int i = next++;
          try {
            Field f = MiniYARNCluster.class.getDeclaredField("nodeManagers");
            f.setAccessible(true);
            Object[] nms = (Object[]) f.get(this);
            nms[i] = new HostedNodeManager(this, host(i));
          } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot give NodeManager " + i + " its host", e);
          }
        }
        super.addService(s);
      }
    };
  }

  /** A NodeManager whose RPC server and localizer listen on a host of its own. */
  static final class HostedNodeManager extends MiniYARNCluster.CustomNodeManager {
    private final String host;

    HostedNodeManager(MiniYARNCluster cluster, String host) {
      cluster.super();
      this.host = host;
    }

    @Override
    protected void serviceInit(Configuration conf) throws Exception {
      conf.set(YarnConfiguration.NM_ADDRESS, host + ":0");
      conf.set(YarnConfiguration.NM_LOCALIZER_ADDRESS, host + ":0");
      super.serviceInit(conf);
    }
  }

  /**
   * Fails when two NodeManagers share a host: a name server that resolves
   * 127.0.0.x back to a name would give them all "localhost".
   */
  static void checkDistinctHosts(Collection<String> nodeIds) throws IOException {
    Set<String> hosts = new HashSet<>();
    for (String id : nodeIds) {
      hosts.add(id.substring(0, id.lastIndexOf(':')));
    }
    if (hosts.size() != nodeIds.size()) {
      throw new IOException("profiles bed: NodeManagers share host names " + nodeIds
          + "; 127.0.0.x must not resolve back to a name");
    }
  }

  /** Adds LABEL to the cluster and puts it on the last NodeManager's host, as an admin would. */
  static void labelNode(ResourceManager rm, int nodeManagers) throws Exception {
    AdminService admin = rm.getRMContext().getRMAdminService();
    admin.addToClusterNodeLabels(AddToClusterNodeLabelsRequest.newInstance(
        List.of(NodeLabel.newInstance(LABEL, true))));
    admin.replaceLabelsOnNode(ReplaceLabelsOnNodeRequest.newInstance(Map.of(
        NodeId.newInstance(host(labelled(nodeManagers)), 0), Set.of(LABEL))));
  }

  static void refreshQueues(ResourceManager rm) throws Exception {
    rm.getRMContext().getRMAdminService().refreshQueues(RefreshQueuesRequest.newInstance());
  }

  /** ready.json's "profiles": the nodes, their racks and labels, the resource type. */
  static String readyJson(int nodeManagers) {
    StringBuilder j = new StringBuilder("{\n    \"nodes\": [");
    for (int i = 0; i < nodeManagers; i++) {
      j.append(i == 0 ? "\n" : ",\n");
      j.append("      {\"host\": \"").append(host(i)).append("\", \"rack\": \"").append(rack(i))
          .append("\", \"label\": \"").append(i == labelled(nodeManagers) ? LABEL : "")
          .append("\"}");
    }
    j.append("\n    ],\n");
    j.append("    \"resource_type\": \"").append(GPU).append("\",\n");
    j.append("    \"resource_per_node\": ").append(GPUS_PER_NODE).append(",\n");
    j.append("    \"label\": \"").append(LABEL).append("\",\n");
    j.append("    \"placement_constraints\": \"")
        .append(YarnConfiguration.SCHEDULER_RM_PLACEMENT_CONSTRAINTS_HANDLER).append("\",\n");
    j.append("    \"opportunistic\": true\n  }");
    return j.toString();
  }
}
