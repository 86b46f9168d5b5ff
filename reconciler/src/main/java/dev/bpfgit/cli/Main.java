package dev.bpfgit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;

/** The bpfgit command line. */
public final class Main {
    /** The verbs that open the kernel; validate, explain and help never do. */
    private static final java.util.Set<String> KERNEL_VERBS = java.util.Set.of("plan", "apply", "run", "status",
            "destroy", "demo", "state");

    /** The verbs that read policies. */
    private static final java.util.Set<String> POLICY_VERBS = java.util.Set.of("validate", "plan", "apply", "run",
            "explain");

    public static void main(String[] args) {
        // loops, not streams with lambdas: the training never runs main, so its lambdas were spun at every start
        boolean help = false;
        boolean offline = false;
        for (String a : args) {
            help |= a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version");
            offline |= a.startsWith("--state") || a.startsWith("--hosts") || a.startsWith("--against");
        }
        if (args.length > 0 && KERNEL_VERBS.contains(args[0]) && !help && !offline) {
            initNativeAhead();
        }
        if (args.length > 0 && POLICY_VERBS.contains(args[0]) && !help) {
            initSchemaAhead();
        }
        System.exit(execute(args));
    }

    /**
     * Compiles the policy schema on a thread of its own while this one sets up the command line. Its class
     * initialisation was the first thing both parse threads of a large snapshot needed (cli/SplitValidate):
     * one compiled it, about 90 ms of CPU, while the other waited (bench/README.md, "The cold CLI, eighth
     * session"). A failure here is left to the first use to report.
     */
    static Thread initSchemaAhead() {
        return Thread.ofPlatform().name("bpfgit-schema-init").daemon().start(() -> {
            try {
                Class.forName("dev.bpfgit.policy.PolicySchema", true, Main.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError | RuntimeException e) {
                // the first use reports it
            }
        });
    }

    /**
     * Initialises the native layer on a second thread while this one sets up the command line (picocli's
     * classes are too old a class-file version for the AOT cache, so they are loaded and verified anew at
     * every start) and reads the policies: jnr-ffi generates libc's stubs (every kernel verb's first call,
     * the euid check and the pin-root lock) and libbpf's downcall handles are made, about 0.2-0.4 s of a cold
     * start on one core. Class initialisation is once and thread-safe: a first use on this thread waits for
     * it rather than doing it twice. A failure here (no libbpf) is left to that first use to report.
     */
    static Thread initNativeAhead() {
        return Thread.ofPlatform().name("bpfgit-native-init").daemon().start(() -> {
            ClassLoader loader = Main.class.getClassLoader();
            for (String c : new String[]{"dev.bpfgit.kernel.linux.Libc", "dev.bpfgit.kernel.linux.Libbpf"}) {
                try {
                    Class.forName(c, true, loader);
                } catch (ClassNotFoundException | LinkageError | RuntimeException e) {
                    return;
                }
            }
        });
    }

    /**
     * The verbs, in the order help lists them. Added to the command line by {@link #commandLine}: a command line
     * that begins with a verb needs that verb's model only.
     */
    static final java.util.List<String> VERBS = java.util.List.of("validate", "plan", "apply", "run", "status",
            "state", "destroy", "demo", "explain", "help");

    // a switch, not a map of constructor references: a lambda of picocli's HelpCommand in the cache's heap made
    // JDK 25.0.3 abort while writing the cache. help is picocli's own command, read from its annotations (only
    // for help and the command lines that list every verb).
    private static Object verb(String name) {
        return switch (name) {
            case "validate" -> ValidateCommand.spec();
            case "plan" -> PlanCommand.spec();
            case "apply" -> ApplyCommand.spec();
            case "run" -> RunCommand.spec();
            case "status" -> StatusCommand.spec();
            case "state" -> StateCommand.spec();
            case "destroy" -> DestroyCommand.spec();
            case "demo" -> DemoCommand.spec();
            case "explain" -> ExplainCommand.spec();
            case "help" -> new CommandLine.HelpCommand();
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** bpfgit's own command line, without its verbs (declared as {@link Cli} says). */
    private static CommandSpec spec() {
        CommandSpec spec = Cli.command(new Main(), "bpfgit",
                "Keeps this host's eBPF networking policy equal to YAML files, the GitOps way.", new String[0],
                new String[]{"0:success; plan: in sync",
                        "1:plan: changes pending",
                        "2:invalid input (policy errors name file:line:column)",
                        "3:error (kernel operation with path and errno, foreign program, stale plan)"},
                "  bpfgit validate policies/",
                "  bpfgit plan policies/",
                "  sudo bpfgit apply policies/",
                "  bpfgit explain 198.51.100.7 policies/",
                "  bpfgit help plan");
        spec.versionProvider(new Version());
        return Cli.standardHelp(spec);
    }

    /**
     * bpfgit's command line for {@code args}: with only the verb {@code args[0]} when it names one exactly
     * (its parsing, help, errors and exit codes are those of the full command line), with every verb
     * otherwise ({@code bpfgit}, {@code --help}, {@code help VERB}, {@code demo}, an unknown or misspelt verb).
     */
    static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(spec());
        String first = args.length > 0 ? args[0] : "";
        // help shows the others, and demo runs them through this command line (DemoCommand.bpfgit)
        boolean all = !VERBS.contains(first) || first.equals("help") || first.equals("demo");
        for (String name : VERBS) {
            if (all || first.equals(name)) {
                cl.addSubcommand(verb(name));
            }
        }
        return cl;
    }

    /** Runs a command line and returns its exit code; never exits the JVM. */
    public static int execute(String... args) {
        return execute(null, null, args);
    }

    /** As {@link #execute(String...)}, printing to {@code out} and {@code err} (null: stdout and stderr). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine(args);
        if (out != null) {
            cl.setOut(out);
        }
        if (err != null) {
            cl.setErr(err);
        }
        cl.setExecutionExceptionHandler(new ExitCodes());
        cl.setParameterExceptionHandler((ex, unparsed) -> ExitCodes.usageError(ex));
        // a mapper overrides exitCodeOnInvalidInput: a bad option or value is invalid input, like a policy, on a
        // verb whose contract has 2; 3 on the others (status, destroy...: 0 or 3)
        cl.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException pe
                ? ExitCodes.invalidInput(pe.getCommandLine()) ? ExitCodes.INVALID : ExitCodes.ERROR
                : ExitCodes.ERROR);
        cl.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.INVALID);
        cl.getSubcommands().values().forEach(sub -> setInvalid(sub));
        return cl.execute(args);
    }

    private static void setInvalid(CommandLine cl) {
        cl.getCommandSpec().exitCodeOnInvalidInput(ExitCodes.INVALID);
        cl.getSubcommands().values().forEach(Main::setInvalid);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"bpfgit " + (v == null ? "0.1.0-SNAPSHOT" : v)};
        }
    }
}
