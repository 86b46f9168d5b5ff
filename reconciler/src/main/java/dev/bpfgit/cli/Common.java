package dev.bpfgit.cli;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.linux.Libc;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.run.Config;
import dev.bpfgit.run.Pipeline;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** Options every verb takes, and what they resolve to. */
final class Common {
    @Option(names = "--root", paramLabel = "DIR",
            description = "Pin root in bpffs (default: root: in --config, else /sys/fs/bpf/bpfgit).")
    Path root;

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (see config/bpfgit.yaml).")
    Path configFile;

    @Option(names = "--host", paramLabel = "NAME", description = "Host name for spec.hosts (default: the kernel hostname).")
    String host;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Host label for spec.hosts; repeatable.")
    Map<String, String> labels = new LinkedHashMap<>();

    private Config config;

    Config config() {
        if (config == null) {
            config = configFile == null ? Config.defaults() : Config.load(configFile);
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
        return new Pipeline(new LinuxKernel(), root(), Clock.systemUTC());
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
