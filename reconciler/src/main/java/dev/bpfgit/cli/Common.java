package dev.bpfgit.cli;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.linux.Libc;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.run.Config;
import dev.bpfgit.run.Pipeline;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** Options every verb takes, and what they resolve to. */
final class Common {
    // the values, read from a parsed command line by of()
    Path root;
    Path configFile;
    String host;
    Map<String, String> labels = new LinkedHashMap<>();

    /** The options every verb takes, mixed into its command line. */
    static void options(CommandSpec spec) {
        Cli.mixin(spec, "common",
                Cli.option("--root", "DIR", Path.class,
                        "Pin root in bpffs (default: root: in --config,", "else /sys/fs/bpf/bpfgit)."),
                Cli.option("--config", "FILE", Path.class, "Configuration file (see config/bpfgit.yaml)."),
                Cli.option("--host", "NAME", String.class, "Host name for spec.hosts (default: the kernel", "hostname)."),
                OptionSpec.builder("--label").paramLabel("KEY=VALUE").type(Map.class)
                        .auxiliaryTypes(String.class, String.class).initialValue(new LinkedHashMap<String, String>())
                        .description("Host label for spec.hosts; repeatable.").build());
    }

    /** Their values in a parsed command line. */
    static Common of(CommandSpec spec) {
        Common c = new Common();
        c.root = Cli.value(spec, "--root");
        c.configFile = Cli.value(spec, "--config");
        c.host = Cli.value(spec, "--host");
        Map<String, String> labels = Cli.value(spec, "--label");
        if (labels != null) {
            c.labels.putAll(labels);
        }
        return c;
    }

    private Config config;

    Config config() {
        if (config == null) {
            try {
                config = configFile == null ? Config.defaults() : Config.load(configFile);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());   // a --config that cannot be read is the user's input
            }
        }
        return config;
    }

    Path root() {
        return root != null ? root.toAbsolutePath().normalize() : config().root();
    }

    String hostName() {
        if (host != null) {
            return host;
        }
        return config().hostName().orElseGet(() -> {
            try {
                return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            } catch (IOException e) {
                return "localhost";
            }
        });
    }

    Map<String, String> hostLabels() {
        Map<String, String> m = new TreeMap<>(config().labels());
        m.putAll(labels);
        return m;
    }

    HostFacts facts(Kernel kernel) {
        return Pipeline.host(kernel, hostName(), hostLabels());
    }

    /**
     * The host facts read from the kernel on a thread of their own, started now, while the caller reads and
     * parses the policies: interfaces (a netlink dump through jnr-ffi, whose first call generates its stubs),
     * the cgroup tree and the feature probes (BPF programs loaded and dropped) take 0.2-0.5 s of a cold start
     * that the second core can do while the first parses ({@link dev.bpfgit.run.Ahead}: in the network
     * namespace of the thread that asks). Errors come out of {@code get()}, as from {@link #facts}.
     */
    java.util.function.Supplier<HostFacts> factsAhead(Kernel kernel) {
        String name = hostName();
        Map<String, String> hostLabels = hostLabels();
        // the Ahead itself, not a method reference to its get: one lambda less spun at every cold plan and apply
        return dev.bpfgit.run.Ahead.start("bpfgit-host-facts", () -> Pipeline.host(kernel, name, hostLabels));
    }

    /**
     * Parse and validate, then compile with {@code host} (asked for once the policies are valid), as
     * {@link Pipeline#compile(dev.bpfgit.source.Snapshot, java.util.function.Supplier, java.util.function.IntConsumer)}
     * but parsed on every core ({@link SplitValidate}).
     */
    static dev.bpfgit.compile.DesiredState compile(Pipeline p, dev.bpfgit.source.Snapshot snapshot,
                                                   java.util.function.Supplier<HostFacts> host,
                                                   java.util.function.IntConsumer filesDone) {
        return compile(p, Sources.Ahead.of(snapshot), host, filesDone);
    }

    /** As {@link #compile(Pipeline, dev.bpfgit.source.Snapshot, java.util.function.Supplier, java.util.function.IntConsumer)}, the files named beside the parse. */
    static dev.bpfgit.compile.DesiredState compile(Pipeline p, Sources.Ahead read,
                                                   java.util.function.Supplier<HostFacts> host,
                                                   java.util.function.IntConsumer filesDone) {
        Pipeline.requireFiles(read.files());
        // compiled while the checks across files run beside it (compile is pure: dropped if they fail)
        return SplitValidate.validateThen(read.files(), filesDone, policies -> {
            dev.bpfgit.source.Snapshot named = read.named().get();
            return dev.bpfgit.compile.Compiler.compile(p.root(), named.revision(), policies, host.get())
                    .withCommit(named.commit());
        });
    }

    /**
     * The live state read on a thread of its own, started now, while the caller parses and compiles: what is
     * pinned under the root (maps with their entries, programs, links, the bookkeeping) does not depend on the
     * policies, only what runs at their attach points does, and that is read when the desired state is
     * known ({@link dev.bpfgit.observe.Observer#atPoints}). 100k map entries take 0.1-0.3 s of a cold plan or
     * apply. Nothing writes to the kernel before the caller asks for the result, and a writer holds the pin-root
     * lock from before this starts. Errors come out of {@code apply}, as from {@link Pipeline#observe}.
     */
    static java.util.function.Function<dev.bpfgit.compile.DesiredState, dev.bpfgit.observe.LiveState> observeAhead(
            Pipeline p) {
        dev.bpfgit.run.Ahead<dev.bpfgit.observe.LiveState> pinned = dev.bpfgit.run.Ahead.start("bpfgit-observe",
                () -> dev.bpfgit.observe.Observer.observe(p.kernel(), p.root(), java.util.List.of()));
        return desired -> dev.bpfgit.observe.Observer.atPoints(pinned.get(), p.kernel(),
                Pipeline.attachPoints(desired));
    }

    /** The pipeline on the real kernel: needs root and bpffs. */
    Pipeline live() {
        if (Libc.geteuid() != 0) {
            throw new IllegalStateException("reading and changing the kernel needs root (CAP_BPF, CAP_NET_ADMIN,"
                    + " CAP_SYS_ADMIN); without root, plan against a state file (--state FILE) or a git revision"
                    + " (--against REV)");
        }
        Path bpffs = root().getParent();
        while (bpffs != null && !Files.isDirectory(bpffs)) {
            bpffs = bpffs.getParent();
        }
        if (!isBpffs(bpffs)) {
            throw new IllegalStateException(root() + " is not on a bpffs mount: mount it with"
                    + " 'mount -t bpf bpf /sys/fs/bpf'");
        }
        checkRoot(root());
        return new Pipeline(new LinuxKernel(), root(), Clock.systemUTC());
    }

    /**
     * An existing pin root must be 0700 (or narrower) and owned by us: whoever else can write there can
     * plant pins that bpfgit would then load, attach or report as its own.
     */
    static void checkRoot(Path root) {
        PosixFileAttributes a;
        int uid;
        try {
            a = Files.readAttributes(root, PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            uid = ((Number) Files.getAttribute(root, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).intValue();
        } catch (java.nio.file.NoSuchFileException e) {
            return;   // the first writer creates it, 0700
        } catch (IOException e) {
            throw new IllegalStateException("read pin root " + root + ": " + e.getMessage());
        }
        int me = Libc.geteuid();
        String perms = PosixFilePermissions.toString(a.permissions());
        boolean wide = !perms.substring(3).equals("------");
        if (!a.isDirectory() || wide || uid != me) {
            String mode = String.format("%04o", mode(perms));
            throw new IllegalStateException("pin root " + root + " is not safe to use: "
                    + (a.isDirectory() ? "" : "not a directory, ") + "mode " + mode + " (" + perms + "), owner "
                    + a.owner().getName() + " (uid " + uid + "); bpfgit uses only a root of mode 0700 owned by uid "
                    + me + ". If it is bpfgit's, fix it with 'chmod 0700 " + root + "'"
                    + (uid != me ? " and 'chown " + me + " " + root + "'" : "")
                    + "; otherwise choose another --root");
        }
    }

    private static int mode(String perms) {
        int m = 0;
        for (int i = 0; i < 9; i++) {
            m = m << 1 | (perms.charAt(i) == '-' ? 0 : 1);
        }
        return m;
    }

    Duration lockTimeout(LockOption option) {
        return option != null && option.lockTimeout != null ? option.lockTimeout : config().lockTimeout();
    }

    /**
     * The pin-root lock every writing verb holds for its whole plan and apply. Creates the root (0700) when
     * it does not exist yet, so the first writer has something to lock; waits up to the lock timeout.
     */
    PinRootLock lock(Pipeline p, LockOption option) {
        return lock(p, option, true);
    }

    /** The lock for {@code run}: the timeout from the configuration. */
    PinRootLock lock(Pipeline p) {
        return lock(p, null, true);
    }

    /** @param create false: a missing root is not created (the caller then has nothing to write) */
    PinRootLock lock(Pipeline p, LockOption option, boolean create) {
        PinRootLock lock = PinRootLock.acquire(p.root(), lockTimeout(option),
                create ? () -> p.kernel().makeDirs(p.root()) : null);
        try {
            checkRoot(p.root());   // as it is now, under the lock
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        return lock;
    }

    static boolean isBpffs(Path dir) {
        if (dir == null) {
            return false;
        }
        try {
            return Files.getFileStore(dir).type().equals("bpf");
        } catch (IOException e) {
            return false;
        }
    }
}
