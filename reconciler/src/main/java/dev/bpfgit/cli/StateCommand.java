package dev.bpfgit.cli;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kernel.Interface;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.state.StateFile;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

final class StateCommand {
    /** state's command line, with its one subcommand. */
    static CommandSpec spec() {
        CommandSpec spec = Cli.command(new StateCommand(), "state", "Work with snapshots of the live state.",
                new String[0], new String[]{"0:exported", "3:error (no root, bpffs), or no such subcommand"},
                "  bpfgit state export > edge-1.json");
        Cli.standardHelp(spec);
        return spec.addSubcommand("export", Export.spec());
    }

    static final class Export implements Callable<Integer> {
        /** state export's command line. */
        static CommandSpec spec() {
            Export verb = new Export();
            CommandSpec spec = verb.spec = Cli.command(verb, "export",
                    "Print the live managed state as JSON, for 'plan --state' in CI.",
                    new String[]{"Exit 0, 3 on error."}, new String[]{"0:exported", "3:error (no root, bpffs)"},
                    "  bpfgit state export > edge-1.json", "  bpfgit plan policies/ --state edge-1.json");
            Common.options(spec);
            return Cli.standardHelp(spec);
        }

        CommandSpec spec;

        // the values parsed into spec, read when called
        Common common;

        @Override
        public Integer call() {
            common = Common.of(spec);
            Pipeline p = common.live();
            // each kind names the attach points of its own on this host's interfaces
            List<String> names = p.kernel().interfaces().stream().map(Interface::name).toList();
            Set<AttachPoint> points = new LinkedHashSet<>();
            for (PolicyKind kind : Kinds.BUILT_IN.all()) {
                points.addAll(kind.exportedAttachPoints(names));
            }
            LiveState live = p.observe(new ArrayList<>(points));
            StateFile.write(live, common.facts(p.kernel()), p.kernel().possibleCpus(), spec.commandLine().getOut());
            spec.commandLine().getOut().flush();   // print() does not flush: the export was lost at exit
            return ExitCodes.OK;
        }
    }
}
