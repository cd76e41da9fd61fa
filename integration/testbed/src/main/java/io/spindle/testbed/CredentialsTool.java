package io.spindle.testbed;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.hdfs.security.token.delegation.DelegationTokenIdentifier;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.WritableUtils;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.security.token.TokenIdentifier;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.security.AMRMTokenIdentifier;
import org.apache.hadoop.yarn.security.client.RMDelegationTokenIdentifier;

/**
 * Hadoop's own Credentials and Token code, driven from the command line so
 * that Spindle's Go tests can check their token storage and token strings
 * against it byte for byte (integration/credentials_test.go).
 *
 * <pre>
 * write FILE 0|1      write the fixture credentials with
 *                     writeTokenStorageToStream, format WRITABLE (0) or PROTOBUF (1)
 * dump FILE           read FILE with readTokenStorageStream and print every entry
 * urlencode           print "ALIAS-HEX URLSTRING" for each fixture token
 * urldecode S...      decode each S with decodeFromUrlString and print the token,
 *                     or "error CLASS" when Hadoop rejects it
 * vlong N...          print the hex of WritableUtils.writeVLong(N)
 * identifiers         print "KIND URLSTRING" for tokens whose identifiers are real
 *                     HDFS, RM delegation and AMRM token identifiers
 * </pre>
 *
 * The fixture is defined again, independently, in the Go test; the two must
 * agree. Dump lines name bytes in hex (or, above 64 bytes, by length and
 * SHA-256) so that any alias or kind survives the trip through text.
 */
public final class CredentialsTool {
  private CredentialsTool() {}

  /** Deterministic bytes: b[i] = seed + 31 i (mod 256). */
  static byte[] pattern(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (seed + i * 31);
    }
    return b;
  }

  static Credentials fixture() {
    Credentials c = new Credentials();
    addToken(c, "", "YARN_AM_RM_TOKEN", "", pattern(30, 1), pattern(32, 2));
    addToken(c, "hdfs://nn.example.com:8020", "HDFS_DELEGATION_TOKEN", "127.0.0.1:8020",
        pattern(60, 3), pattern(20, 4));
    addToken(c, "rm \u2713 \u00fcn\u00efcode", "RM_DELEGATION_TOKEN", "rm1:8032,rm2:8032",
        pattern(200, 5), pattern(20, 6));
    addToken(c, "big", "SPINDLE_TEST", "svc:1", pattern(300, 7), pattern(70000, 8));
    addToken(c, "empty", "", "", new byte[0], new byte[0]);
    c.addSecretKey(new Text("secret.key"), pattern(16, 9));
    c.addSecretKey(new Text(""), new byte[0]);
    c.addSecretKey(new Text("unicode \u2713 secret"), pattern(300, 10));
    return c;
  }

  private static void addToken(Credentials c, String alias, String kind, String service,
      byte[] id, byte[] pw) {
    c.addToken(new Text(alias), new Token<TokenIdentifier>(id, pw, new Text(kind), new Text(service)));
  }

  static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder(2 * b.length);
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
    }
    return sb.toString();
  }

  /** Hex of short values, "len=N,sha256=HEX" of long ones. */
  static String show(byte[] b) {
    if (b.length <= 64) {
      return hex(b);
    }
    try {
      return "len=" + b.length + ",sha256=" + hex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String tokenLine(Token<?> t) {
    return "kind=" + show(t.getKind().copyBytes()) + " service=" + show(t.getService().copyBytes())
        + " id=" + show(t.getIdentifier()) + " pw=" + show(t.getPassword());
  }

  static void dump(Credentials c, PrintStream out) {
    for (Map.Entry<Text, Token<? extends TokenIdentifier>> e : c.getTokenMap().entrySet()) {
      out.println("token alias=" + show(e.getKey().copyBytes()) + " " + tokenLine(e.getValue()));
    }
    for (Map.Entry<Text, byte[]> e : c.getSecretKeyMap().entrySet()) {
      out.println("secret alias=" + show(e.getKey().copyBytes()) + " value=" + show(e.getValue()));
    }
  }

  static List<String> identifierTokens() throws IOException {
    List<String> lines = new ArrayList<>();

    DelegationTokenIdentifier hdfs =
        new DelegationTokenIdentifier(new Text("alice"), new Text("yarn"), new Text("oozie"));
    hdfs.setIssueDate(1700000000123L);
    hdfs.setMaxDate(1700604800123L);
    hdfs.setSequenceNumber(42);
    hdfs.setMasterKeyId(7);
    lines.add(line(hdfs, hdfs.getKind(), "127.0.0.1:8020"));

    RMDelegationTokenIdentifier rm =
        new RMDelegationTokenIdentifier(new Text("bob@EXAMPLE.COM"), new Text("rm"), new Text(""));
    rm.setIssueDate(1700000000456L);
    rm.setMaxDate(1700604800456L);
    rm.setSequenceNumber(300);
    rm.setMasterKeyId(-3);
    lines.add(line(rm, rm.getKind(), "rm1:8032,rm2:8032"));

    AMRMTokenIdentifier amrm = new AMRMTokenIdentifier(
        ApplicationAttemptId.newInstance(ApplicationId.newInstance(1700000000000L, 12345), 2), 99);
    lines.add(line(amrm, amrm.getKind(), ""));
    return lines;
  }

  private static String line(TokenIdentifier id, Text kind, String service) throws IOException {
    Token<TokenIdentifier> t =
        new Token<>(id.getBytes(), pattern(20, 11), kind, new Text(service));
    return kind + " " + t.encodeToUrlString();
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: CredentialsTool write|dump|urlencode|urldecode|vlong|identifiers ...");
      System.exit(2);
    }
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8.name());
    switch (args[0]) {
      case "write": {
        Credentials.SerializedFormat format = Credentials.SerializedFormat.valueOf(Integer.parseInt(args[2]));
        try (DataOutputStream os = new DataOutputStream(new FileOutputStream(args[1]))) {
          fixture().writeTokenStorageToStream(os, format);
        }
        break;
      }
      case "dump": {
        Credentials c = new Credentials();
        try (DataInputStream in = new DataInputStream(new FileInputStream(args[1]))) {
          c.readTokenStorageStream(in);
        }
        dump(c, out);
        break;
      }
      case "urlencode":
        for (Map.Entry<Text, Token<? extends TokenIdentifier>> e : fixture().getTokenMap().entrySet()) {
          out.println(show(e.getKey().copyBytes()) + " " + e.getValue().encodeToUrlString());
        }
        break;
      case "urldecode":
        for (int i = 1; i < args.length; i++) {
          Token<TokenIdentifier> t = new Token<>();
          try {
            t.decodeFromUrlString(args[i]);
            out.println("ok " + tokenLine(t));
          } catch (Exception | OutOfMemoryError e) {
            // A hostile length makes Java try to allocate it: the VM refuses.
            out.println("error " + e.getClass().getName());
          }
        }
        break;
      case "vlong":
        for (int i = 1; i < args.length; i++) {
          ByteArrayOutputStream buf = new ByteArrayOutputStream();
          WritableUtils.writeVLong(new DataOutputStream(buf), Long.parseLong(args[i]));
          out.println(hex(buf.toByteArray()));
        }
        break;
      case "identifiers":
        for (String l : identifierTokens()) {
          out.println(l);
        }
        break;
      default:
        System.err.println("unknown subcommand " + args[0]);
        System.exit(2);
    }
    out.flush();
  }
}
