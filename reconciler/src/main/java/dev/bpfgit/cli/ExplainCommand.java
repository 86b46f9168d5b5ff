package dev.bpfgit.cli;

import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.explain.Explanation;
import dev.bpfgit.explain.TrafficExplainer;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.render.ExplainJson;
import dev.bpfgit.render.ExplainText;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.GitRevisionSource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;

final class ExplainCommand implements Callable<Integer> {
    /** explain's command line. */
    static CommandSpec spec() {
        ExplainCommand verb = new ExplainCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "explain",
                "Show what happens to traffic from or to an address, and why.",
                new String[]{"For every TrafficPolicy unit (interface, hook): the verdict the kernel",
                        "gives the address, found by the longest-prefix match in the pinned trie",
                        "itself; the matched prefix, action, redirect target or mark, the owning",
                        "policy and the rule's counters; the unit's default when no prefix",
                        "matches. 'match' says whether the prefixes apply to a packet's source",
                        "or destination address.",
                        "",
                        "With PATH, also the file:line that declares the matched prefix, and",
                        "whether the kernel and the files agree for this address ('in sync', or",
                        "'drifted' and what differs).",
                        "",
                        "Reading the kernel needs root. Without it, answer from a state file",
                        "('bpfgit state export', --state) or from a git revision as if applied",
                        "(--against; PATH or source.path names the repository); neither has",
                        "counters."},
                new String[]{"0:answered (also when a unit drifted)",
                        "2:invalid input (a malformed address, unknown interface or hook, policies)",
                        "3:error (kernel operation with path and errno, no root)"},
                "  bpfgit explain 198.51.100.7",
                "  bpfgit explain 2001:db8::1 policies/ --interface eth0 -o json",
                "  bpfgit explain 10.1.2.3 --state edge-1.json");
        Common.options(spec);
        spec.addPositional(Cli.parameter("0", "ADDRESS", "1", String.class, "An IPv4 or IPv6 address."));
        spec.addPositional(Cli.parameter("1", "PATH", "0..1", Path.class,
                "Policy file or directory: adds file:line, and", "in sync or drifted."));
        spec.addOption(Cli.option("--interface", "IF", String.class, "Only units on this interface."));
        spec.addOption(Cli.option("--hook", "H", String.class, "Only units at this hook: xdp, tc-ingress,", "tc-egress."));
        LiveSide.options(spec);
        spec.addOption(Cli.output("text or json."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;
    String address;
    Path path;
    String iface;
    String hook;
    LiveSide from;
    String output;

    /** A kernel to ask, its pin root and the host it stands for. */
    private record Answerer(Kernel kernel, Path root, HostFacts host, String source, boolean counters) {
    }

    @Override
    public Integer call() {
        common = Common.of(spec);
        address = Cli.parameter(spec, 0);
        path = Cli.parameter(spec, 1);
        iface = Cli.value(spec, "--interface");
        hook = Cli.value(spec, "--hook");
        from = LiveSide.of(spec);
        output = Cli.value(spec, "--output");
        if (!List.of("text", "json").contains(output)) {
            throw new UsageException("-o must be text or json, not " + output);
        }
        Prefix host = parseAddress(address);
        if (hook != null) {
            try {
                TrafficExplainer.checkHook(hook);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        Answerer a = from.state != null ? fromState() : from.against != null ? fromRevision() : fromKernel();
        Optional<DesiredState> files = Optional.empty();
        if (path != null) {
            Snapshot snapshot = Sources.read(List.of(path), common);
            Pipeline.requireFiles(snapshot);
            files = Optional.of(Compiler.compile(a.root(), snapshot.revision(), Pipeline.validate(snapshot), a.host()));
        }
        if (iface != null && !a.host().interfaces().containsKey(iface)
                && !TrafficExplainer.interfaces(a.kernel(), a.root(), files).contains(iface)) {
            throw new UsageException("unknown interface '" + iface + "': this host has "
                    + String.join(", ", new TreeSet<>(a.host().interfaces().keySet())));
        }
        Map<Integer, String> ifnames = new HashMap<>();
        a.host().interfaces().forEach((n, i) -> ifnames.put(i, n));
        Explanation e = new Explanation(host.toString().replaceFirst("/\\d+$", ""), a.source(),
                TrafficExplainer.explain(a.kernel(), a.root(), host, Optional.ofNullable(iface),
                        Optional.ofNullable(hook), ifnames, a.counters(), files));
        PrintWriter out = spec.commandLine().getOut();
        out.print(output.equals("json") ? ExplainJson.render(e) : ExplainText.render(e));
        out.flush();
        return ExitCodes.OK;
    }

    /** An address, not a prefix: a host prefix (/32, /128) is what a packet carries. */
    static Prefix parseAddress(String text) {
        if (text.contains("/")) {
            throw new UsageException("'" + text + "' is a prefix; explain takes one address, e.g. "
                    + text.substring(0, text.indexOf('/')));
        }
        try {
            return Prefix.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage().replace("prefix", "address"));
        }
    }

    private Answerer fromKernel() {
        Pipeline p = common.live();
        return new Answerer(p.kernel(), p.root(), common.facts(p.kernel()), "kernel", true);
    }

    private Answerer fromState() {
        LiveSide.FromState loaded = from.readState(common);
        return new Answerer(loaded.kernel(), loaded.root(), loaded.host(), "state " + from.state, false);
    }

    /** The revision compiled for a host that has every interface its policies name, applied in memory. */
    private Answerer fromRevision() {
        Path repo = path != null ? path : common.config().sourcePath().orElseThrow(() ->
                new UsageException("--against needs PATH or source.path in --config to find the repository"));
        Snapshot base;
        try {
            base = GitRevisionSource.read(repo, from.against);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        List<Policy> policies;
        try {
            policies = Pipeline.validate(base);
        } catch (PolicyException e) {
            throw new UsageException("the policies at " + from.against + " are themselves invalid:\n"
                    + ErrorFormat.text(e).stripTrailing());
        }
        HostFacts host = new HostFacts(common.hostName(), common.hostLabels(), InMemoryHost.interfaces(policies));
        Path root = common.root();
        MemoryKernel kernel = InMemoryHost.applied(new MemoryKernel(host.interfaces(), 1),
                Compiler.compile(root, base.revision(), policies, host), Clock.systemUTC());
        return new Answerer(kernel, root, host, "revision " + from.against, false);
    }
}
