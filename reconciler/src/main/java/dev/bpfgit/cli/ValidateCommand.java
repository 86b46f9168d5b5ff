package dev.bpfgit.cli;

import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.Snapshot;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

final class ValidateCommand implements Callable<Integer> {
    /** validate's command line. */
    static CommandSpec spec() {
        ValidateCommand verb = new ValidateCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "validate",
                "Check policy files (YAML, schema, semantics) and report every error.",
                new String[]{"Needs no root and no kernel. Exit 0 when valid, 2 when not."},
                new String[]{"0:valid", "2:invalid: every error as file:line:column, or no such path"},
                "  bpfgit validate policies/", "  bpfgit validate -o github policies/   # GitHub Actions annotations");
        Common.options(spec);
        spec.addPositional(PositionalParamSpec.builder().index("0..*").paramLabel("PATH").arity("0..*")
                .type(List.class).auxiliaryTypes(Path.class).description("Policy files or directories.").build());
        spec.addOption(Cli.output("text or github (Actions annotations)."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;
    List<Path> paths;
    String output;

    @Override
    public Integer call() {
        common = Common.of(spec);
        paths = Cli.parameter(spec, 0);
        output = Cli.value(spec, "--output");
        if (!List.of("text", "github").contains(output)) {
            // checked first: an unknown format must not pass as text in a CI step that parses the output
            throw new UsageException("-o must be text or github, not " + output);
        }
        try {
            if (common.configFile != null) {
                // with PATH nothing else reads it; 'validate --config FILE' is how a configuration is checked
                common.config();
            }
            Snapshot snapshot = Sources.read(paths, common);
            List<Policy> policies;
            try (Progress progress = Progress.start(spec.commandLine().getErr(), "parsing policies")) {
                policies = SplitValidate.validate(snapshot, progress.files(snapshot.files().size()));
            }
            spec.commandLine().getOut().printf("valid: %d %s in %d %s (revision %s)%n", policies.size(),
                    policies.size() == 1 ? "policy" : "policies", snapshot.files().size(),
                    snapshot.files().size() == 1 ? "file" : "files", snapshot.revision());
            return ExitCodes.OK;
        } catch (PolicyException e) {
            if (output.equals("github")) {
                spec.commandLine().getOut().print(ErrorFormat.github(e));
                spec.commandLine().getOut().flush();
            }
            throw e;
        }
    }
}
