package dev.bpfgit.cli;

import dev.bpfgit.apply.StalePlanException;
import dev.bpfgit.diff.ForeignProgramException;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.PolicyException;
import picocli.CommandLine;

import java.io.PrintWriter;

/** The one place where exceptions become messages on stderr and exit codes (design §4). */
final class ExitCodes implements CommandLine.IExecutionExceptionHandler {
    static final int OK = 0;
    static final int CHANGES = 1;
    static final int INVALID = 2;
    static final int ERROR = 3;

    /** The exit code of a failure, for a verb that reports several outcomes (plan --hosts) itself. */
    static int of(Exception ex) {
        return switch (ex) {
            case PolicyException _, dev.bpfgit.source.SourceException _, UsageException _ -> INVALID;
            default -> ERROR;
        };
    }

    /** Whether the verb's exit codes (design §4) include 2. */
    static boolean invalidInput(CommandLine cl) {
        return cl.getCommandSpec().usageMessage().exitCodeList().containsKey(String.valueOf(INVALID));
    }

    /**
     * A command line picocli cannot parse (an unknown option, a missing argument): the message, the verb's
     * synopsis and where its help is, on stderr; exit 2 where the verb's contract has "invalid input"
     * (validate, plan, apply, explain), 3 where it has only 0 and 3 (run, status, state export, destroy, demo).
     */
    static int usageError(CommandLine.ParameterException ex) {
        CommandLine cl = ex.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println("error: " + ex.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
        CommandLine.Help help = cl.getHelp();
        err.print(help.synopsisHeading() + help.synopsis(help.synopsisHeadingLength()));
        err.println("Run '" + cl.getCommandSpec().qualifiedName() + " --help' for its options.");
        err.flush();
        return invalidInput(cl) ? INVALID : ERROR;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        int code = switch (ex) {
            case PolicyException p -> {
                err.print(ErrorFormat.text(p));
                err.println(p.errors().size() + (p.errors().size() == 1 ? " error" : " errors")
                        + "; nothing was changed.");
                // a verb without "invalid input" (status, destroy: 0 or 3) exits 3 for a bad --config
                yield invalidInput(cl) ? INVALID : ERROR;
            }
            case dev.bpfgit.source.SourceException _, UsageException _ -> {
                err.println("error: " + ex.getMessage());
                // as for a policy: run, status, destroy... exit 0 or 3 only (design section 4); run without --config
                // is a fatal error of the sidecar, 3
                yield invalidInput(cl) ? INVALID : ERROR;
            }
            case ForeignProgramException _ -> {
                err.println("error: " + ex.getMessage().replace("\n", "\nerror: "));
                err.println("nothing was changed.");
                yield ERROR;
            }
            case KernelException _, StalePlanException _ -> {
                err.println("error: " + ex.getMessage());
                yield ERROR;
            }
            default -> {
                err.println("error: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
                if (System.getenv("BPFGIT_DEBUG") != null) {
                    ex.printStackTrace(err);
                }
                yield ERROR;
            }
        };
        err.flush();
        return code;
    }
}
