package dev.bpfgit.kind.reuseport;

import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.policy.PolicySpec;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code kind: ReusePortGroup}: which of the processes sharing a port (SO_REUSEPORT) gets new connections.
 *
 * @param address the listeners' bound address; empty: any address at {@code port}
 * @param netns   the listeners' network namespace (a path); empty: the one bpfgit runs in (design: the host's)
 */
public record ReusePortSpec(int port, Optional<InetAddress> address, SocketProtocol protocol,
                            Optional<String> netns, Strategy strategy, boolean migrate, List<Member> members)
        implements PolicySpec {

    /** The most members a group has: {@code RP_MAX_MEMBERS} of bpf/include/reuseport.h. */
    public static final int MAX_MEMBERS = 32;

    public ReusePortSpec {
        members = List.copyOf(members);
    }

    public enum Strategy {
        HOT_STANDBY("hot-standby"), WEIGHTED("weighted");

        public final String yaml;

        Strategy(String yaml) {
            this.yaml = yaml;
        }

        public static Strategy of(String yaml) {
            return yaml.equals("weighted") ? WEIGHTED : HOT_STANDBY;
        }
    }

    /** @param index its position in {@code spec.members}: its key in the group's maps */
    public record Member(int index, String name, int weight, boolean drain, Process process) {
    }

    /** How a member's process is found. */
    public sealed interface Process {
        String describe();
    }

    public record PidFile(Path path) implements Process {
        @Override
        public String describe() {
            return "pidFile " + path;
        }
    }

    /** @param path below the cgroup v2 root, starting with {@code /} */
    public record Cgroup(String path) implements Process {
        @Override
        public String describe() {
            return "cgroup " + path;
        }
    }

    /** A regular expression found in a process's command line (arguments joined by spaces). */
    public record Command(Pattern regex) implements Process {
        @Override
        public String describe() {
            return "command /" + regex.pattern() + "/";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Command c && c.regex.pattern().equals(regex.pattern());
        }

        @Override
        public int hashCode() {
            return regex.pattern().hashCode();
        }
    }
}
