package dev.bpfgit.cli;

import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.Inventory;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.render.Fleet;
import dev.bpfgit.render.FleetJson;
import dev.bpfgit.render.FleetText;
import dev.bpfgit.render.PlanMarkdown;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.GitRevisionSource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import dev.bpfgit.state.StateFile;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code plan PATH --hosts FILE}: the plan of every host of an inventory, for a pull request's reviewers.
 * Nothing here reads a kernel, so it runs without root and without bpffs. Each host's live side is, in
 * this order: its {@code state:} file; else the {@code --against} revision compiled and applied for that
 * host (its name and labels select the policies); else an empty host. A host that cannot be planned (its
 * state file is missing, the revision's policies are invalid, a foreign program is in its state) gets its
 * exit code and message in its section and the others are still planned; the exit code is the worst one.
 */
final class FleetPlan {
    /**
     * The revision side was never applied anywhere: its "applied" time is the epoch, so that the same inputs
     * give the same plan, byte for byte, on every CI run.
     */
    private static final Clock EPOCH = Clock.fixed(java.time.Instant.EPOCH, java.time.ZoneOffset.UTC);
    private final PlanCommand cmd;
    private final Path root;
    /** The --against side, null without --against. */
    private final Snapshot base;
    private final List<Policy> basePolicies;
    /** Why the --against side cannot serve as a live side, null when it can. */
    private final PolicyException baseInvalid;
    private final List<Policy> head;
    private final Snapshot snapshot;
    private final Path inventoryDir;
    private final Map<String, Plan> byPolicies = new java.util.HashMap<>();

    private FleetPlan(PlanCommand cmd, Snapshot snapshot, List<Policy> head, Snapshot base, List<Policy> basePolicies,
                      PolicyException baseInvalid, Path inventoryDir) {
        this.cmd = cmd;
        this.root = cmd.common.root();
        this.snapshot = snapshot;
        this.head = head;
        this.base = base;
        this.basePolicies = basePolicies;
        this.baseInvalid = baseInvalid;
        this.inventoryDir = inventoryDir;
    }

    static int run(PlanCommand cmd) {
        if (cmd.against.live || cmd.against.state != null) {
            throw new UsageException("--hosts plans against each host's state: file (or --against REV, or an"
                    + " empty host); it does not take --live or --state");
        }
        if (cmd.common.host != null || !cmd.common.labels.isEmpty()) {
            throw new UsageException("--host and --label name one host; with --hosts the inventory names them");
        }
        Inventory inventory;
        try {
            inventory = Inventory.read(cmd.hosts);
        } catch (IOException e) {
            throw new UsageException("read inventory " + cmd.hosts + ": " + e.getMessage());
        } catch (PolicyException e) {
            throw annotated(cmd, e);
        }
        Snapshot snapshot = Sources.read(cmd.path == null ? null : List.of(cmd.path), cmd.common);
        Pipeline.requireFiles(snapshot);
        List<Policy> head;
        try {
            head = Pipeline.validate(snapshot);
        } catch (PolicyException e) {
            throw annotated(cmd, e);
        }
        Snapshot base = null;
        List<Policy> basePolicies = List.of();
        PolicyException baseInvalid = null;
        if (cmd.against.against != null) {
            try {
                base = GitRevisionSource.read(cmd.path != null ? cmd.path
                        : cmd.common.config().sourcePath().orElseThrow(), cmd.against.against);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            try {
                basePolicies = Pipeline.validate(base);
            } catch (PolicyException e) {
                baseInvalid = e;   // hosts with a state file are still planned
            }
        }
        FleetPlan f = new FleetPlan(cmd, snapshot, head, base, basePolicies, baseInvalid,
                cmd.hosts.toAbsolutePath().normalize().getParent());
        List<Fleet.Host> hosts = new ArrayList<>();
        inventory.hosts().forEach(h -> hosts.add(f.plan(h)));
        Fleet fleet = new Fleet(snapshot.revision(), hosts);
        f.print(fleet);
        return fleet.exitCode();
    }

    private static PolicyException annotated(PlanCommand cmd, PolicyException e) {
        if (cmd.output.equals("github")) {
            cmd.spec.commandLine().getOut().print(ErrorFormat.github(e));
            cmd.spec.commandLine().getOut().flush();
        }
        return e;
    }

    private void print(Fleet fleet) {
        PrintWriter out = cmd.spec.commandLine().getOut();
        switch (cmd.output) {
            case "json" -> out.print(FleetJson.render(fleet));
            case "markdown" -> out.print(PlanMarkdown.render(fleet));
            case "github" -> {
                out.print(FleetText.render(fleet));
                for (Fleet.Group g : fleet.groups()) {
                    Fleet.Host h = g.first();
                    // workflow command escaping: properties are split at ',' and ':'
                    String title = data("bpfgit plan " + String.join(", ", g.names())).replace(":", "%3A")
                            .replace(",", "%2C");
                    if (h.plan().isPresent()) {
                        out.println("::notice title=" + title + "::" + (h.plan().get().inSync() ? "in sync"
                                : dev.bpfgit.render.PlanText.summary(h.plan().get()).toString()));
                    } else {
                        out.println("::error title=" + title + "::" + data(h.error()));
                    }
                }
            }
            default -> out.print(FleetText.render(fleet));
        }
        out.flush();
    }

    private static String data(String s) {
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A");
    }

    private Fleet.Host plan(Inventory.Host h) {
        String against = h.state().map(s -> "state " + shown(s))
                .orElse(base != null ? "revision " + cmd.against.against : "empty");
        try {
            Plan plan = h.state().isPresent() ? againstState(h, h.state().get()) : againstRevision(h);
            return Fleet.Host.planned(h.name(), h.labels(), against, plan);
        } catch (PolicyException e) {
            return Fleet.Host.failed(h.name(), h.labels(), against, ExitCodes.INVALID,
                    ErrorFormat.text(e).stripTrailing());
        } catch (RuntimeException e) {
            return Fleet.Host.failed(h.name(), h.labels(), against, ExitCodes.of(e),
                    e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** The state file's host, named and labelled by the inventory (its labels, when it gives any). */
    private Plan againstState(Inventory.Host h, Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UsageException("read state file " + shown(file) + " (" + h.at() + "): "
                    + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
        }
        StateFile.Loaded loaded;
        try {
            loaded = StateFile.read(text, shown(file));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        HostFacts host = new HostFacts(h.name(), h.labels().isEmpty() ? loaded.host().labels() : h.labels(),
                loaded.host().interfaces(), loaded.host().cgroups(), loaded.host().features());
        Path pins = cmd.common.root != null ? root : loaded.root();
        DesiredState desired = Compiler.compile(pins, snapshot.revision(), head, host);
        return Differ.diff(desired, Observer.observe(loaded.kernel(), pins, Pipeline.attachPoints(desired)));
    }

    /**
     * The --against revision compiled for this host and applied to an empty in-memory kernel, or that kernel.
     * Without a state file a host's plan depends only on which policies select it on either side: hosts
     * that the same policies select share one computation, so a fleet of thousands in a few roles plans
     * in the time of a few hosts.
     */
    private Plan againstRevision(Inventory.Host h) {
        if (baseInvalid != null) {
            throw new UsageException("the policies at " + cmd.against.against + " are themselves invalid:\n"
                    + ErrorFormat.text(baseInvalid).stripTrailing());
        }
        String key = selected(head, h) + "|" + selected(basePolicies, h);
        Plan known = byPolicies.get(key);
        if (known != null) {
            return known;
        }
        Plan plan = compiledAgainstRevision(h);
        byPolicies.put(key, plan);
        return plan;
    }

    private static String selected(List<Policy> policies, Inventory.Host h) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < policies.size(); i++) {
            if (policies.get(i).hosts().selects(h.name(), h.labels())) {
                sb.append(i).append(',');
            }
        }
        return sb.toString();
    }

    private Plan compiledAgainstRevision(Inventory.Host h) {
        HostFacts host = new HostFacts(h.name(), h.labels(), InMemoryHost.interfaces(basePolicies, head));
        MemoryKernel kernel = new MemoryKernel(host.interfaces(), 1);
        if (base != null) {
            InMemoryHost.applied(kernel, Compiler.compile(root, base.revision(), basePolicies, host), EPOCH);
        }
        DesiredState desired = Compiler.compile(root, snapshot.revision(), head, host);
        return Differ.diff(desired, Observer.observe(kernel, root, Pipeline.attachPoints(desired)));
    }

    /** A state file as the inventory names it: relative to the inventory's directory. */
    private String shown(Path file) {
        return file.startsWith(inventoryDir) ? inventoryDir.relativize(file).toString() : file.toString();
    }
}
