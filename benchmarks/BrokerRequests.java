// What a running local broker serves per second, by request type, read from its own metrics.
//
// Run while a load runs (a JDK's single-file launcher; no build):
//   java --add-modules jdk.attach benchmarks/BrokerRequests.java $(pgrep -f kafka.Kafka) 10
//
// The broker's CPU goes mostly by requests, not by records: this prints how many of each it
// served over the window, the records it appended, and how many records a produce request
// carried on average. It attaches to the broker's JVM as the same user (the JDK's attach API
// starts the JVM's local management agent) and reads the RequestMetrics counters twice.

import com.sun.tools.attach.VirtualMachine;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerRequests {
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: java --add-modules jdk.attach BrokerRequests.java PID [SECONDS]");
      System.exit(2);
    }
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    String address = VirtualMachine.attach(args[0]).startLocalManagementAgent();
    MBeanServerConnection broker =
        JMXConnectorFactory.connect(new JMXServiceURL(address)).getMBeanServerConnection();
    Map<String, Long> before = counts(broker);
    Thread.sleep(seconds * 1000L);
    Map<String, Long> after = counts(broker);
    System.out.printf("over %d s%n| per second | count |%n|---|---|%n", seconds);
    Map<String, Double> rates = new TreeMap<>();
    for (var entry : after.entrySet()) {
      double rate = (entry.getValue() - before.getOrDefault(entry.getKey(), 0L)) / (double) seconds;
      if (rate > 0) {
        rates.put(entry.getKey(), rate);
        System.out.printf("| %s | %.1f |%n", entry.getKey(), rate);
      }
    }
    double produce = rates.getOrDefault("Produce requests", 0.0);
    if (produce > 0) {
      System.out.printf(
          "records per produce request: %.2f%n", rates.getOrDefault("records in", 0.0) / produce);
    }
  }

  private static Map<String, Long> counts(MBeanServerConnection broker) throws Exception {
    Map<String, Long> counts = new TreeMap<>();
    ObjectName requests =
        new ObjectName("kafka.network:type=RequestMetrics,name=RequestsPerSec,*");
    for (ObjectName name : broker.queryNames(requests, null)) {
      long count = (Long) broker.getAttribute(name, "Count");
      counts.merge(name.getKeyProperty("request") + " requests", count, Long::sum);
    }
    ObjectName records =
        new ObjectName("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec");
    for (ObjectName name : broker.queryNames(records, null)) {
      counts.put("records in", (Long) broker.getAttribute(name, "Count"));
    }
    return counts;
  }
}
