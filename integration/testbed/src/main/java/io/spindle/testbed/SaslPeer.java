package io.spindle.testbed;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslServer;

/**
 * The server side of a SASL exchange, run by the JDK's own SaslServer (the
 * one Hadoop's IPC server uses) on a loopback socket, so that Spindle's Go
 * SASL clients can be tested byte for byte against a Java peer.
 *
 * <pre>
 *   java io.spindle.testbed.SaslPeer [KEYTAB PRINCIPAL]
 * </pre>
 *
 * It prints "LISTENING port" and serves one connection after another until
 * its stdin closes. Every frame is a 4-byte big-endian length and that many
 * bytes. The client's first frame is its configuration, "key=value" lines:
 * mech (DIGEST-MD5 or GSSAPI), qop (the server's list, e.g.
 * "auth,auth-int,auth-conf"), and for DIGEST-MD5 user and password (the
 * SASL strings) and optionally ciphers (a comma-separated list; the cipher
 * directive of the challenge is cut down to it), for GSSAPI optionally
 * acceptorSubkey=true. Then the server sends type-tagged frames: 'C' and a
 * challenge, 'S' and the final token (maybe empty), 'Q' and the negotiated
 * QOP, or 'E' and an error message. Client frames during the exchange are
 * bare responses. Afterwards the client sends 'M' frames with a wrapped
 * message (raw at QOP auth); the server answers each with an 'M' frame
 * wrapping the message reversed, followed by "|" and its length in decimal.
 * 'X' ends the connection.
 */
public final class SaslPeer {
  private final String keytab;
  private final String principal;
  private Subject subject;

  private SaslPeer(String keytab, String principal) {
    this.keytab = keytab;
    this.principal = principal;
  }

  public static void main(String[] args) throws Exception {
    SaslPeer peer = new SaslPeer(args.length > 0 ? args[0] : null, args.length > 1 ? args[1] : null);
    ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // ignore
        }
      } catch (IOException ignored) {
        // fall through
      }
      System.exit(0);
    });
    watchdog.setDaemon(true);
    watchdog.start();
    System.out.println("LISTENING " + ss.getLocalPort());
    System.out.flush();
    while (true) {
      try (Socket s = ss.accept()) {
        peer.serve(s);
      } catch (Exception e) {
        System.err.println("SaslPeer: connection failed: " + e);
      }
    }
  }

  private void serve(Socket s) throws Exception {
    DataInputStream in = new DataInputStream(s.getInputStream());
    DataOutputStream out = new DataOutputStream(s.getOutputStream());
    Map<String, String> conf = new HashMap<>();
    for (String line : new String(read(in), StandardCharsets.UTF_8).split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        conf.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    try {
      exchange(conf, in, out);
    } catch (Exception e) {
      e.printStackTrace();
      String msg = e.toString();
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        msg += "; caused by " + c;
      }
      send(out, 'E', msg.getBytes(StandardCharsets.UTF_8));
    }
  }

  private void exchange(Map<String, String> conf, DataInputStream in, DataOutputStream out)
      throws Exception {
    String mech = conf.get("mech");
    Map<String, Object> props = new HashMap<>();
    props.put(Sasl.QOP, conf.getOrDefault("qop", "auth"));
    props.put(Sasl.SERVER_AUTH, "true");
    SaslServer server;
    if ("DIGEST-MD5".equals(mech)) {
      String user = conf.get("user");
      String password = conf.get("password");
      // As Hadoop's SaslRpcServer: protocol "", server name "default".
      server = Sasl.createSaslServer("DIGEST-MD5", "", "default", props, callbacks -> {
        for (Callback cb : callbacks) {
          if (cb instanceof NameCallback) {
            NameCallback nc = (NameCallback) cb;
            if (!user.equals(nc.getDefaultName())) {
              throw new IOException("unknown user " + nc.getDefaultName());
            }
          } else if (cb instanceof PasswordCallback) {
            ((PasswordCallback) cb).setPassword(password.toCharArray());
          } else if (cb instanceof RealmCallback) {
            RealmCallback rc = (RealmCallback) cb;
            rc.setText(rc.getDefaultText());
          } else if (cb instanceof AuthorizeCallback) {
            authorize((AuthorizeCallback) cb);
          }
        }
      });
      byte[] challenge = server.evaluateResponse(new byte[0]);
      String ciphers = conf.get("ciphers");
      if (ciphers != null) {
        String ch = new String(challenge, StandardCharsets.UTF_8);
        ch = ch.replaceFirst("cipher=\"[^\"]*\"", "cipher=\"" + ciphers + "\"");
        challenge = ch.getBytes(StandardCharsets.UTF_8);
      }
      send(out, 'C', challenge);
    } else if ("GSSAPI".equals(mech)) {
      System.setProperty("sun.security.krb5.acceptor.subkey",
          String.valueOf("true".equals(conf.get("acceptorSubkey"))));
      Subject subj = login();
      // As Hadoop's SaslRpcServer: protocol and host from the principal.
      String[] parts = principal.split("[/@]");
      server = Subject.doAs(subj, (PrivilegedExceptionAction<SaslServer>) () ->
          Sasl.createSaslServer("GSSAPI", parts[0], parts[1], props, callbacks -> {
            for (Callback cb : callbacks) {
              if (cb instanceof AuthorizeCallback) {
                authorize((AuthorizeCallback) cb);
              }
            }
          }));
    } else {
      throw new IllegalArgumentException("unknown mech " + mech);
    }

    final SaslServer srv = server;
    Subject subj = "GSSAPI".equals(mech) ? login() : new Subject();
    while (!srv.isComplete()) {
      final byte[] response = read(in);
      byte[] challenge = Subject.doAs(subj,
          (PrivilegedExceptionAction<byte[]>) () -> srv.evaluateResponse(response));
      if (srv.isComplete()) {
        send(out, 'S', challenge == null ? new byte[0] : challenge);
      } else {
        send(out, 'C', challenge);
      }
    }
    String qop = (String) srv.getNegotiatedProperty(Sasl.QOP);
    send(out, 'Q', (qop + "\n" + srv.getAuthorizationID()).getBytes(StandardCharsets.UTF_8));
    boolean wrap = !"auth".equals(qop);
    while (true) {
      byte[] frame = read(in);
      if (frame.length == 0 || frame[0] == 'X') {
        return;
      }
      if (frame[0] != 'M') {
        throw new IOException("unexpected frame type " + frame[0]);
      }
      byte[] msg = java.util.Arrays.copyOfRange(frame, 1, frame.length);
      if (wrap) {
        byte[] wrapped = msg;
        msg = srv.unwrap(wrapped, 0, wrapped.length);
        if (msg.length == 0 && wrapped.length != 0) {
          // The JDK's DIGEST-MD5 drops a message whose MAC is wrong.
          throw new IOException("unwrap discarded the message (bad MAC or padding)");
        }
      }
      byte[] tail = ("|" + msg.length).getBytes(StandardCharsets.UTF_8);
      byte[] reply = new byte[msg.length + tail.length];
      for (int i = 0; i < msg.length; i++) {
        reply[i] = msg[msg.length - 1 - i];
      }
      System.arraycopy(tail, 0, reply, msg.length, tail.length);
      if (wrap) {
        reply = srv.wrap(reply, 0, reply.length);
      }
      send(out, 'M', reply);
    }
  }

  private static void authorize(AuthorizeCallback ac) {
    ac.setAuthorized(ac.getAuthenticationID().equals(ac.getAuthorizationID()));
    if (ac.isAuthorized()) {
      ac.setAuthorizedID(ac.getAuthorizationID());
    }
  }

  private synchronized Subject login() throws Exception {
    if (subject != null) {
      return subject;
    }
    if (keytab == null || principal == null) {
      throw new IllegalStateException("GSSAPI needs KEYTAB and PRINCIPAL arguments");
    }
    Configuration jaas = new Configuration() {
      @Override
      public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        Map<String, String> o = new HashMap<>();
        o.put("useKeyTab", "true");
        o.put("keyTab", keytab);
        o.put("principal", principal);
        o.put("storeKey", "true");
        o.put("doNotPrompt", "true");
        o.put("isInitiator", "false");
        return new AppConfigurationEntry[] {
          new AppConfigurationEntry("com.sun.security.auth.module.Krb5LoginModule",
              AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, o)
        };
      }
    };
    LoginContext lc = new LoginContext("SaslPeer", new Subject(), null, jaas);
    lc.login();
    subject = lc.getSubject();
    return subject;
  }

  private static byte[] read(DataInputStream in) throws IOException {
    int n;
    try {
      n = in.readInt();
    } catch (EOFException e) {
      return new byte[0];
    }
    if (n < 0 || n > (64 << 20)) {
      throw new IOException("bad frame length " + n);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }

  private static void send(DataOutputStream out, char type, byte[] payload) throws IOException {
    out.writeInt(payload.length + 1);
    out.writeByte(type);
    out.write(payload);
    out.flush();
  }
}
