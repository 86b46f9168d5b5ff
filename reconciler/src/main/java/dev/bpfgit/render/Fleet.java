package dev.bpfgit.render;

import dev.bpfgit.diff.Plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The plans of every host of an inventory ({@code plan --hosts}), what the text, markdown and JSON renderers
 * print.
 *
 * @param revision the revision planned (the policies at PATH)
 */
public record Fleet(String revision, List<Host> hosts) {
    public static final int IN_SYNC = 0;
    public static final int CHANGES = 1;
    public static final int INVALID = 2;
    public static final int ERROR = 3;

    public Fleet {
        hosts = List.copyOf(hosts);
    }

    /**
     * One host: its plan, or why it has none.
     *
     * @param against what the host was planned against, as people read it: {@code state states/edge-1.json},
     *                {@code revision origin/main} or {@code empty}
     * @param error   the message when there is no plan (several lines for policy errors)
     */
    public record Host(String name, Map<String, String> labels, String against, int exitCode, Optional<Plan> plan,
                       String error) {
        public Host {
            labels = Map.copyOf(new TreeMap<>(labels));
        }

        public static Host planned(String name, Map<String, String> labels, String against, Plan plan) {
            return new Host(name, labels, against, plan.inSync() ? IN_SYNC : CHANGES, Optional.of(plan), "");
        }

        public static Host failed(String name, Map<String, String> labels, String against, int exitCode,
                                  String error) {
            return new Host(name, labels, against, exitCode, Optional.empty(), error);
        }
    }

    /**
     * Hosts whose plans read the same: the same steps, entries, warnings and exit code as the text plan shows
     * them (raw values that the text does not show, such as interface indexes, may differ), or the same error.
     * In the order of their first host.
     */
    public record Group(List<Host> hosts) {
        public Group {
            hosts = List.copyOf(hosts);
        }

        public Host first() {
            return hosts.getFirst();
        }

        public List<String> names() {
            return hosts.stream().map(Host::name).toList();
        }
    }

    public List<Group> groups() {
        Map<String, List<Host>> byPlan = new LinkedHashMap<>();
        for (Host h : hosts) {
            String key = h.exitCode() + "\n" + h.plan().map(PlanText::render).orElse("error:" + h.error());
            byPlan.computeIfAbsent(key, k -> new ArrayList<>()).add(h);
        }
        return byPlan.values().stream().map(Group::new).toList();
    }

    /** The worst exit code over all hosts: the numerically largest (3 error > 2 invalid > 1 changes > 0). */
    public int exitCode() {
        return hosts.stream().mapToInt(Host::exitCode).max().orElse(IN_SYNC);
    }

    public boolean inSync() {
        return exitCode() == IN_SYNC;
    }

    public long count(int exitCode) {
        return hosts.stream().filter(h -> h.exitCode() == exitCode).count();
    }

    /** "4 hosts: 1 in sync, 2 with changes, 1 invalid, 0 failed" */
    public String tally() {
        return hosts.size() + (hosts.size() == 1 ? " host" : " hosts") + ": " + count(IN_SYNC) + " in sync, "
                + count(CHANGES) + " with changes, " + count(INVALID) + " invalid, " + count(ERROR) + " failed";
    }
}
