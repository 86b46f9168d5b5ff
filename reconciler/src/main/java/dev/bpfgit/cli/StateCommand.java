package dev.bpfgit.cli;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kernel.Interface;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.state.StateFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "state", mixinStandardHelpOptions = true, header = "Work with snapshots of the live state.",
        exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:exported",
                "3:error (no root, bpffs), or no such subcommand"},
        footerHeading = "%nExamples:%n", footer = "  bpfgit state export > edge-1.json",
        subcommands = StateCommand.Export.class)
final class StateCommand {

    @Command(name = "export", mixinStandardHelpOptions = true, header = "Print the live managed state as JSON, for 'plan --state' in CI.",
            description = "Exit 0, 3 on error.",
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:exported", "3:error (no root, bpffs)"},
            footerHeading = "%nExamples:%n",
            footer = {"  bpfgit state export > edge-1.json", "  bpfgit plan policies/ --state edge-1.json"})
    static final class Export implements Callable<Integer> {
        @Mixin
        Common common;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
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
