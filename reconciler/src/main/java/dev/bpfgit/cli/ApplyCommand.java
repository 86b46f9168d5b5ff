package dev.bpfgit.cli;

import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.apply.StalePlanException;
import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.render.SavedPlan;
import dev.bpfgit.run.Pipeline;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

final class ApplyCommand implements Callable<Integer> {
    /** apply's command line. */
    static CommandSpec spec() {
        ApplyCommand verb = new ApplyCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "apply", "Make the kernel match the policies.",
                new String[]{"Plans against the kernel and applies the plan, or applies a saved plan",
                        "('plan -o json > FILE') exactly, refusing it if the kernel changed since.",
                        "Holds the pin-root lock from reading the kernel to the last write; another",
                        "writer of the root waits up to --lock-timeout for it. Asks for confirmation on",
                        "a terminal unless --yes. Exit 0 done, 2 invalid input, 3 error. A saved plan of",
                        "a format version this bpfgit does not know (schema/plan.schema.json), or the",
                        "plan of several hosts (plan --hosts), is refused as invalid input (exit 2)."},
                new String[]{"0:applied, or nothing to do", "2:invalid input",
                        "3:error, stale plan, lock not obtained, not confirmed"},
                "  bpfgit apply policies/ --yes", "  bpfgit plan policies/ -o json > plan.json",
                "  bpfgit apply --plan plan.json --yes");
        Common.options(spec);
        LockOption.options(spec);
        spec.addPositional(Cli.parameter("0", "PATH", "0..1", Path.class, "Policy file or directory."));
        spec.addOption(Cli.option("--plan", "FILE", Path.class, "Apply this saved plan (JSON) exactly."));
        spec.addOption(Cli.flag(new String[]{"-y", "--yes"}, "<yes>", "Do not ask for confirmation."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;
    LockOption lockOption;
    Path path;
    Path planFile;
    boolean yes;

    @Override
    public Integer call() {
        common = Common.of(spec);
        lockOption = LockOption.of(spec);
        path = Cli.parameter(spec, 0);
        planFile = Cli.value(spec, "--plan");
        yes = Cli.flag(spec, "--yes");
        PrintWriter out = spec.commandLine().getOut();
        if (planFile != null && path != null) {
            throw new UsageException("give either PATH or --plan FILE, not both");
        }
        // a plan of an unknown version is refused before anything needs root or the kernel
        Plan read = planFile != null ? read() : null;
        Pipeline p = common.live();
        // observe, the staleness check of a saved plan and apply, atomic for every other bpfgit writer
        try (PinRootLock lock = common.lock(p, lockOption)) {
            return locked(p, out, read);
        }
    }

    private int locked(Pipeline p, PrintWriter out, Plan read) {
        Plan plan;
        // a saved plan has no desired state: its kinds' runtimes (e.g. adopting a group's member sockets) are
        // made from what the applied units hold in the kernel
        DesiredState desired = null;
        try (Progress progress = Progress.start(spec.commandLine().getErr(), "reading the kernel")) {
            if (planFile != null) {
                plan = saved(p, read);
            } else {
                var live = Common.observeAhead(p);
                Sources.Ahead files = Sources.readAhead(path == null ? null : List.of(path), common);
                desired = Common.compile(p, files, common.factsAhead(p.kernel()),
                        progress.files(files.files().files().size()));
                progress.show("reading the kernel and planning");
                plan = dev.bpfgit.diff.Differ.diff(desired, live.apply(desired));
            }
        }
        PlanText.print(plan, out);
        if (desired != null) {
            for (String line : p.runtimeLines(desired)) {
                out.println(line);
            }
        }
        out.flush();
        if (plan.inSync() && planFile == null) {
            p.apply(plan);   // records the revision; writes no datapath state
            runtimes(p, desired);
            return ExitCodes.OK;
        }
        if (!Confirm.ask(yes, "Apply these changes?", out)) {
            out.println("Nothing applied.");
            return ExitCodes.ERROR;
        }
        ApplyResult r;
        try (Progress progress = Progress.start(spec.commandLine().getErr(), "applying")) {
            r = p.apply(plan, progress.applying(plan));
        }
        out.printf("Applied revision %s: %d steps, %d entries written, %d deleted.%n", plan.revision(), r.steps(),
                r.entriesWritten(), r.entriesDeleted());
        runtimes(p, desired);
        return ExitCodes.OK;
    }

    /** Once, after the plan: what the kinds keep up to date beyond it (a restarted member's socket, say). */
    private static void runtimes(Pipeline p, DesiredState desired) {
        // loops, not lambdas, on a cold apply's path: the training cannot run apply, so each lambda here was spun
        // at run time (bench/README.md, switch14)
        for (dev.bpfgit.kind.PolicyKind.Runtime r : desired != null ? p.runtimes(desired) : p.pinnedRuntimes()) {
            r.reconcile();
        }
    }

    /** Refuses, before anything touches the kernel, a plan that does not follow schema/plan.schema.json. */
    private Plan read() {
        try {
            // streamed: a first plan of a million entries is not held as text, tree and objects at once
            SavedPlan saved;
            try (InputStream in = Files.newInputStream(planFile)) {
                saved = SavedPlan.read(in);
            }
            // another format or version: PlanJson says so in its own words
            List<String> errors = saved.errors();
            if (!errors.isEmpty()) {
                throw new UsageException(planFile + " is not a plan bpfgit can apply exactly (schema/plan.schema.json,"
                        + " $defs/plan); nothing was changed:\n  " + String.join("\n  ", errors.stream().limit(MAX_ERRORS)
                        .toList()) + (errors.size() > MAX_ERRORS ? "\n  ... and " + (errors.size() - MAX_ERRORS) + " more"
                        : ""));
            }
            return saved.plan();
        } catch (IOException e) {
            throw new UsageException("read plan " + planFile + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UsageException(planFile + ": " + e.getMessage());
        }
    }

    private static final int MAX_ERRORS = 20;

    private Plan saved(Pipeline p, Plan plan) {
        if (!plan.root().equals(p.root())) {
            throw new UsageException(planFile + " was made for pin root " + plan.root() + ", not " + p.root());
        }
        List<AttachPoint> points = new ArrayList<>();
        plan.units().forEach(u -> u.changes().forEach(c -> {
            if (c instanceof Change.CreateLink l) {
                points.add(l.at());
            }
        }));
        LiveState live = p.observe(points);
        if (!live.basis().equals(plan.basis())) {
            throw new StalePlanException("the plan in " + planFile + " is stale: the kernel state under " + p.root()
                    + " changed since it was made; run plan again");
        }
        foreignSince(plan, live);
        return plan;
    }

    /**
     * The basis covers what is pinned under the root, not what others attach: a BPF program that appeared at a
     * point the plan attaches to, since it was made, makes it stale too, unless the plan named it (a policy
     * coexisting with it: its warning). The plan was made without it; plan again decides.
     */
    private void foreignSince(Plan plan, LiveState live) {
        java.util.Set<Integer> ours = new java.util.HashSet<>();
        live.programs().values().forEach(pr -> ours.add(pr.info().id()));
        live.links().values().forEach(l -> ours.add(l.info().progId()));
        String warned = String.join("\n", plan.warnings());
        plan.units().forEach(u -> u.changes().forEach(c -> {
            if (c instanceof Change.CreateLink l) {
                for (dev.bpfgit.kernel.AttachedProgram a : live.attached().getOrDefault(l.at(), List.of())) {
                    if (a.progId() != 0 && !ours.contains(a.progId())
                            && !warned.contains(l.at().label() + ": program id " + a.progId() + " ")
                            && !warned.contains(", program id " + a.progId() + " ")) {
                        throw new StalePlanException("the plan in " + planFile + " is stale: " + l.at().label()
                                + ": program id " + a.progId() + " \"" + a.name() + "\" is attached and was not"
                                + " attached by bpfgit, and was not there when the plan was made; run plan again");
                    }
                }
            }
        }));
    }
}
