package io.spindle.testbed;

import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

/**
 * The Java side of Spindle's RPC benchmark: Hadoop's own YarnClient calling
 * getYarnClusterMetrics, so Go and Java are measured on the same cluster in
 * the same run.
 *
 * <pre>RpcBench CALLS THREADS [PRINCIPAL KEYTAB]</pre>
 *
 * Reads the cluster configuration from the classpath (HADOOP_CONF_DIR first
 * on it). Warms up, then prints one line: "calls=N threads=T nanos=D".
 */
public final class RpcBench {
  public static void main(String[] args) throws Exception {
    int calls = Integer.parseInt(args[0]);
    int threads = Integer.parseInt(args[1]);
    YarnConfiguration conf = new YarnConfiguration();
    UserGroupInformation.setConfiguration(conf);
    UserGroupInformation ugi = args.length >= 4
        ? UserGroupInformation.loginUserFromKeytabAndReturnUGI(args[2], args[3])
        : UserGroupInformation.getCurrentUser();
    long nanos = ugi.doAs((PrivilegedExceptionAction<Long>) () -> {
      YarnClient yc = YarnClient.createYarnClient();
      yc.init(conf);
      yc.start();
      try {
        for (int i = 0; i < 200; i++) {
          yc.getYarnClusterMetrics();
        }
        AtomicInteger left = new AtomicInteger(calls);
        List<Thread> ts = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
          Thread th = new Thread(() -> {
            try {
              while (left.getAndDecrement() > 0) {
                yc.getYarnClusterMetrics();
              }
            } catch (Exception e) {
              throw new RuntimeException(e);
            }
          });
          ts.add(th);
          th.start();
        }
        for (Thread th : ts) {
          th.join();
        }
        return System.nanoTime() - start;
      } finally {
        yc.stop();
      }
    });
    System.out.println("calls=" + calls + " threads=" + threads + " nanos=" + nanos);
  }
}
