package dev.bpfgit.cli;

import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.Snapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "validate", mixinStandardHelpOptions = true, header = "Check policy files (YAML, schema, semantics) and report every error.",
        exitCodeListHeading = "%nExit codes:%n", footerHeading = "%nExamples:%n",
        exitCodeList = {"0:valid", "2:invalid: every error as file:line:column, or no such path"},
        footer = {"  bpfgit validate policies/", "  bpfgit validate -o github policies/   # GitHub Actions annotations"},
        description = "Needs no root and no kernel. Exit 0 when valid, 2 when not.")
final class ValidateCommand implements Callable<Integer> {
    @Mixin
    Common common;

    @Parameters(paramLabel = "PATH", arity = "0..*", description = "Policy files or directories.")
    List<Path> paths;

    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or github (Actions annotations).")
    String output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
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
