package io.spindle.testbed;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.PosixFilePermissions;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FsConstants;
import org.apache.hadoop.fs.FsServerDefaults;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.local.LocalConfigKeys;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.io.nativeio.NativeIO;

/**
 * The test bed's local file system: Hadoop's, except that permissions are
 * set inside the JVM (java.nio) rather than by forking {@code chmod}.
 *
 * <p>Why: a production NodeManager loads libhadoop, whose NativeIO sets a
 * file's mode with one system call. Maven Central ships no libhadoop, so the
 * bed's NodeManagers fell back to forking {@code chmod} from a 2 GiB JVM for
 * every file and directory of every container they launch: launch script,
 * tokens file, wrapper scripts, work and log directories. Sampled with
 * jstack while 64 containers of /bin/true started, those forks were 40% of
 * the launcher threads' busy samples, and on 2 cores the NodeManagers took
 * 10 s to launch the 64. Setting the mode in-process is what libhadoop does;
 * everything else (checksums, symlinks, statuses) stays Hadoop's.
 *
 * <p>TestBed installs it for this JVM only, as a default resource
 * (spindle-testbed-local-fs.xml) read by every {@code new Configuration()}
 * here, and keeps it out of the client configuration it writes: other
 * JVMs (clients, Java ApplicationMasters) keep Hadoop's own.
 */
public final class InProcessLocalFs {
  private InProcessLocalFs() {}

  /** Sets p's mode through java.nio; modes nio cannot express go to Hadoop. */
  static boolean setMode(File f, FsPermission permission) throws IOException {
    if (NativeIO.isAvailable() || permission.getStickyBit()) {
      return false;
    }
    String rwx = permission.toString();
    if (rwx.length() != 9) {
      return false;
    }
    try {
      Files.setPosixFilePermissions(f.toPath(), PosixFilePermissions.fromString(rwx));
    } catch (NoSuchFileException e) {
      throw new FileNotFoundException("File " + f + " does not exist");
    } catch (UnsupportedOperationException e) {
      return false;
    }
    return true;
  }

  /** The FileSystem for file:// ({@code fs.file.impl}). */
  public static class Checked extends LocalFileSystem {
    public Checked() {
      super(new Raw());
    }
  }

  /** Hadoop's RawLocalFileSystem with in-process permission changes. */
  public static class Raw extends RawLocalFileSystem {
    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      if (!setMode(pathToFile(p), permission)) {
        super.setPermission(p, permission);
      }
    }
  }

  /** The AbstractFileSystem for file:// ({@code fs.AbstractFileSystem.file.impl}). */
  public static class Fs extends ChecksumFs {
    public Fs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(new RawFs(uri, conf));
    }
  }

  /** The raw AbstractFileSystem under {@link Fs}: Raw behind FileContext. */
  public static class RawFs extends DelegateToFileSystem {
    public RawFs(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(uri, new Raw(), conf, FsConstants.LOCAL_FS_URI.getScheme(), false);
    }

    @Override
    public int getUriDefaultPort() {
      return -1; // file:/// has no port
    }

    @Override
    public FsServerDefaults getServerDefaults() throws IOException {
      return LocalConfigKeys.getServerDefaults();
    }

    @Override
    public boolean isValidName(String src) {
      return true; // the OS decides, as for Hadoop's local file systems
    }

    @Override
    public boolean supportsSymlinks() {
      return true;
    }

    @Override
    public void createSymlink(Path target, Path link, boolean createParent) throws IOException {
      String scheme = target.toUri().getScheme();
      if (scheme != null && !"file".equals(scheme)) {
        throw new IOException("cannot link " + link + " to " + target + ": not a local path");
      }
      if (createParent) {
        mkdir(link.getParent(), FsPermission.getDirDefault(), true);
      }
      Files.createSymbolicLink(new File(link.toUri().getPath()).toPath(),
          new File(target.toUri().getPath()).toPath());
    }

    @Override
    public FileStatus getFileLinkStatus(Path f) throws IOException {
      java.nio.file.Path p = new File(f.toUri().getPath()).toPath();
      if (!Files.isSymbolicLink(p)) {
        return getFileStatus(f);
      }
      Path target = new Path(Files.readSymbolicLink(p).toString());
      if (!Files.exists(p)) { // dangling
        return new FileStatus(0, false, 0, 0, 0, 0, FsPermission.getDefault(), "", "", target, f);
      }
      FileStatus s = getFileStatus(f);
      return new FileStatus(s.getLen(), false, s.getReplication(), s.getBlockSize(),
          s.getModificationTime(), s.getAccessTime(), s.getPermission(), s.getOwner(),
          s.getGroup(), target, f);
    }

    @Override
    public Path getLinkTarget(Path f) throws IOException {
      return new Path(Files.readSymbolicLink(new File(f.toUri().getPath()).toPath()).toString());
    }
  }
}
