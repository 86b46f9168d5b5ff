package dev.bpfgit.cli;

import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanMarkdown;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.GitRevisionSource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;

final class PlanCommand implements Callable<Integer> {
    /** plan's command line. */
    static CommandSpec spec() {
        PlanCommand verb = new PlanCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "plan", "Show the change apply would make.",
                new String[]{"The live side is the kernel (--live, the default; needs root), a state file",
                        "from 'bpfgit state export' (--state), or another git revision of the same",
                        "repository compiled as if applied (--against). Exit 0 in sync, 1 changes",
                        "pending, 2 invalid input, 3 error.",
                        "",
                        "With --hosts FILE (an inventory, schema/inventory.schema.json) every host is",
                        "planned, without root or bpffs: against its state: file when it has one, else",
                        "against the --against revision compiled for that host (its name and labels),",
                        "else against an empty host. Hosts whose plans are identical share a section; a",
                        "table of hosts by changes follows. The exit code is the largest over the hosts",
                        "(3 error > 2 invalid > 1 changes > 0 in sync)."},
                new String[]{"0:in sync", "1:changes pending", "2:invalid input (policy errors name file:line:column)",
                        "3:error (kernel, no root, bpffs)"},
                "  bpfgit plan policies/", "  bpfgit plan policies/ --state edge-1.json -o markdown",
                "  bpfgit plan policies/ --against origin/main", "  bpfgit plan policies/ --hosts hosts.yaml");
        Common.options(spec);
        spec.addPositional(Cli.parameter("0", "PATH", "0..1", Path.class, "Policy file or directory."));
        LiveSide.options(spec);
        spec.addOption(Cli.option("--hosts", "FILE", Path.class, "Plan every host of this inventory (YAML)."));
        spec.addOption(Cli.output("text, json, markdown or github."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;
    Path path;
    LiveSide against;
    Path hosts;
    String output;

    @Override
    public Integer call() {
        common = Common.of(spec);
        path = Cli.parameter(spec, 0);
        against = LiveSide.of(spec);
        hosts = Cli.value(spec, "--hosts");
        output = Cli.value(spec, "--output");
        if (!List.of("text", "json", "markdown", "github").contains(output)) {
            throw new UsageException("-o must be text, json, markdown or github, not " + output);
        }
        if (hosts != null) {
            return FleetPlan.run(this);
        }
        Sources.Ahead read = Sources.readAhead(path == null ? null : List.of(path), common);
        Pipeline.requireFiles(read.files());
        Plan plan;
        try {
            try (Progress progress = Progress.start(spec.commandLine().getErr(), "planning")) {
                plan = against.state != null ? againstState(read.named().get(), progress)
                        : against.against != null ? againstRevision(read.named().get(), progress)
                        : againstKernel(read, progress);
            }
        } catch (PolicyException e) {
            if (output.equals("github")) {
                spec.commandLine().getOut().print(ErrorFormat.github(e));
                spec.commandLine().getOut().flush();
            }
            throw e;
        }
        PrintWriter out = spec.commandLine().getOut();
        switch (output) {
            case "json" -> PlanJson.write(plan, root -> runtimes.forEach(r -> r.describe(root)), out);
            case "markdown" -> out.print(PlanMarkdown.render(plan));
            case "github" -> {
                PlanText.print(plan, out);
                out.println("::notice title=bpfgit plan::" + (plan.inSync() ? "in sync" : PlanText.summary(plan).toString()));
            }
            default -> PlanText.print(plan, out);
        }
        if (output.equals("text") || output.equals("github")) {
            runtimes.forEach(r -> r.describe().forEach(out::println));
        }
        out.flush();
        return plan.inSync() ? ExitCodes.OK : ExitCodes.CHANGES;
    }

    /** Against the kernel, what the kinds' runtimes see beyond the plan (members and their live sockets). */
    private List<dev.bpfgit.kind.PolicyKind.Runtime> runtimes = List.of();

    private Plan againstKernel(Sources.Ahead read, Progress progress) {
        Pipeline p = common.live();
        var live = Common.observeAhead(p);
        DesiredState desired = Common.compile(p, read, common.factsAhead(p.kernel()),
                progress.files(read.files().files().size()));
        progress.show("reading the kernel and planning");
        Plan plan = Differ.diff(desired, live.apply(desired));
        runtimes = p.runtimes(desired);
        return plan;
    }

    private Plan againstState(Snapshot snapshot, Progress progress) {
        LiveSide.FromState loaded = against.readState(common);
        HostFacts host = loaded.host();
        Path root = loaded.root();
        DesiredState desired = Compiler.compile(root, snapshot.revision(),
                SplitValidate.validate(snapshot, progress.files(snapshot.files().size())), host)
                .withCommit(snapshot.commit());
        progress.show("planning against " + against.state);
        return Differ.diff(desired, Observer.observe(loaded.kernel(), root, Pipeline.attachPoints(desired)));
    }

    /** The other revision compiled and applied to an in-memory kernel is the "live" side. */
    private Plan againstRevision(Snapshot snapshot, Progress progress) {
        Snapshot base;
        try {
            base = GitRevisionSource.read(path != null ? path : common.config().sourcePath().orElseThrow(),
                    against.against);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        } catch (dev.bpfgit.source.InvalidFilesException e) {
            throw new UsageException("the policies at " + against.against + " are themselves invalid:\n"
                    + e.getMessage());
        }
        List<Policy> basePolicies;
        try {
            basePolicies = Pipeline.validate(base);
        } catch (PolicyException e) {
            throw new UsageException("the policies at " + against.against + " are themselves invalid:\n"
                    + ErrorFormat.text(e).stripTrailing());
        }
        List<Policy> head = SplitValidate.validate(snapshot, progress.files(snapshot.files().size()));
        progress.show("planning against " + against.against);
        HostFacts host = new HostFacts(common.hostName(), common.hostLabels(),
                InMemoryHost.interfaces(basePolicies, head));
        Path root = common.root();
        MemoryKernel kernel = InMemoryHost.applied(new MemoryKernel(host.interfaces(), 1),
                Compiler.compile(root, base.revision(), basePolicies, host), Clock.systemUTC());
        DesiredState desired = Compiler.compile(root, snapshot.revision(), head, host).withCommit(snapshot.commit());
        LiveState live = Observer.observe(kernel, root, Pipeline.attachPoints(desired));
        return Differ.diff(desired, live);
    }
}
