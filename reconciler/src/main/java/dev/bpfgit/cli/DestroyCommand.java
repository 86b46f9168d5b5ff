package dev.bpfgit.cli;

import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.run.LastGoodStore;
import dev.bpfgit.run.Pipeline;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.Callable;

final class DestroyCommand implements Callable<Integer> {
    /** destroy's command line. */
    static CommandSpec spec() {
        DestroyCommand verb = new DestroyCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "destroy", "Remove everything bpfgit owns on this host.",
                new String[]{"Shows the plan, then detaches bpfgit's links and removes its pins and the pin",
                        "root, and the root's copy of its last applied revision in source.lastGood",
                        "(--config). Touches nothing else outside the pin root. Holds the pin-root lock",
                        "throughout; another writer of the root waits up to --lock-timeout for it. Exit",
                        "0 done, 3 error."},
                new String[]{"0:destroyed, or nothing to destroy", "3:error, or not confirmed"},
                "  bpfgit destroy --yes");
        Common.options(spec);
        LockOption.options(spec);
        spec.addOption(Cli.flag(new String[]{"-y", "--yes"}, "<yes>", "Do not ask for confirmation."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;
    LockOption lockOption;
    boolean yes;

    @Override
    public Integer call() {
        common = Common.of(spec);
        lockOption = LockOption.of(spec);
        yes = Cli.flag(spec, "--yes");
        PrintWriter out = spec.commandLine().getOut();
        Pipeline p = common.live();
        if (!Files.exists(p.root())) {
            out.println("Nothing to destroy under " + p.root() + ".");
            removeCopy(p, out);
            return ExitCodes.OK;
        }
        PinRootLock lock;
        try {
            lock = common.lock(p, lockOption, false);
        } catch (KernelException.NotFound e) {
            out.println("Nothing to destroy under " + p.root() + ".");   // destroyed while we waited
            removeCopy(p, out);
            return ExitCodes.OK;
        }
        try (lock) {
            return locked(p, out);
        }
    }

    private int locked(Pipeline p, PrintWriter out) {
        Plan plan;
        try (Progress progress = Progress.start(spec.commandLine().getErr(), "reading the kernel")) {
            plan = Differ.destroy(p.observe(List.of()));
        }
        if (plan.inSync()) {
            out.println("Nothing to destroy under " + p.root() + ".");
            removeCopy(p, out);
            return ExitCodes.OK;
        }
        out.print(PlanText.render(plan));
        if (!Confirm.ask(yes, "Destroy everything under " + p.root() + "?", out)) {
            out.println("Nothing destroyed.");
            return ExitCodes.ERROR;
        }
        ApplyResult r;
        try (Progress progress = Progress.start(spec.commandLine().getErr(), "destroying")) {
            r = p.apply(plan, progress.applying(plan));
        }
        out.printf("Destroyed: %d steps; %s is gone.%n", r.steps(), p.root());
        removeCopy(p, out);
        return ExitCodes.OK;
    }

    /** A sidecar's copy of the root's last applied revision is only ever enforced with its pins: it goes too. */
    private void removeCopy(Pipeline p, PrintWriter out) {
        common.config().lastGood().flatMap(lastGood -> LastGoodStore.remove(lastGood, p.root())).ifPresent(d ->
                out.println("Removed " + d + ", the copy of its last applied revision (source.lastGood)."));
    }
}
