package dev.bpfgit.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a verb declares its command line: in code, with picocli's programmatic model, the model that picocli's
 * annotations would make. Each verb has a {@code static CommandSpec spec()} that declares its options (and
 * mixes in {@link Common}'s), and reads their parsed values into its fields when it is called.
 *
 * <p>Not annotations: to read them the JVM generates a proxy class per annotation type at run time (classes the
 * AOT cache cannot hold) and picocli builds the model by reflection, both on the main thread of every cold
 * start before the parse can begin (bench/README.md, "The cold CLI, thirteenth session"). The names, labels,
 * descriptions, arities, types and order below are those the annotations gave, so the help, the errors and the
 * exit codes are unchanged.
 */
final class Cli {
    private Cli() {
    }

    /**
     * A verb without options yet: its name, one-line header, description, exit codes ({@code "CODE:meaning"})
     * and examples, with picocli's headings.
     */
    static CommandSpec command(Object verb, String name, String header, String[] description, String[] exitCodes,
                               String... examples) {
        CommandSpec spec = CommandSpec.wrapWithoutInspection(verb).name(name);
        spec.usageMessage().header(header).description(description)
                .exitCodeListHeading("%nExit codes:%n").exitCodeList(exitCodes(exitCodes))
                .footerHeading("%nExamples:%n").footer(examples);
        return spec;
    }

    /** As picocli reads {@code @Command(exitCodeList)}: the code before the first ':', its meaning after it. */
    private static Map<String, String> exitCodes(String... entries) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String e : entries) {
            int colon = e.indexOf(':');
            m.put(e.substring(0, colon), e.substring(colon + 1));
        }
        return m;
    }

    /** A group of options that several verbs share ({@link Common}, {@link LockOption}), under its name. */
    static void mixin(CommandSpec spec, String name, OptionSpec... options) {
        CommandSpec mixin = CommandSpec.create();
        for (OptionSpec o : options) {
            mixin.addOption(o);
        }
        spec.addMixin(name, mixin);
    }

    /**
     * {@code -h, --help} and {@code -V, --version}, last, as picocli's {@code mixinStandardHelpOptions} adds them
     * (its own mixin is an annotated class, read by reflection).
     */
    static CommandSpec standardHelp(CommandSpec spec) {
        mixin(spec, "mixinStandardHelpOptions",
                OptionSpec.builder("-h", "--help").usageHelp(true).paramLabel("<helpRequested>").type(boolean.class)
                        .initialValue(false).descriptionKey("mixinStandardHelpOptions.help")
                        .description("Show this help message and exit.").build(),
                OptionSpec.builder("-V", "--version").versionHelp(true).paramLabel("<versionRequested>")
                        .type(boolean.class).initialValue(false).descriptionKey("mixinStandardHelpOptions.version")
                        .description("Print version information and exit.").build());
        return spec;
    }

    /** An option with a value. */
    static OptionSpec option(String[] names, String paramLabel, Class<?> type, String... description) {
        return OptionSpec.builder(names).paramLabel(paramLabel).type(type).description(description).build();
    }

    /** An option with a value and a converter of its own. */
    static OptionSpec option(String name, String paramLabel, Class<?> type, ITypeConverter<?> converter,
                             String... description) {
        return OptionSpec.builder(name).paramLabel(paramLabel).type(type).converters(converter)
                .description(description).build();
    }

    /** An option with a value. */
    static OptionSpec option(String name, String paramLabel, Class<?> type, String... description) {
        return option(new String[]{name}, paramLabel, type, description);
    }

    /** {@code -o, --output}, text unless given (each verb checks the formats it knows). */
    static OptionSpec output(String description) {
        return OptionSpec.builder("-o", "--output").paramLabel("<output>").type(String.class).defaultValue("text")
                .description(description).build();
    }

    /** An option without a value: true when given. {@code label} is picocli's name for it, {@code <field>}. */
    static OptionSpec flag(String[] names, String label, String... description) {
        return OptionSpec.builder(names).paramLabel(label).type(boolean.class).initialValue(false)
                .description(description).build();
    }

    /** A positional parameter at {@code index}; required unless its arity starts at 0. */
    static PositionalParamSpec parameter(String index, String label, String arity, Class<?> type,
                                         String... description) {
        return PositionalParamSpec.builder().index(index).paramLabel(label).arity(arity).type(type)
                .required(!arity.startsWith("0")).description(description).build();
    }

    /** The parsed value of {@code option} (its default, or null, when not given). */
    static <T> T value(CommandSpec spec, String option) {
        return spec.findOption(option).getValue();
    }

    /** Whether the flag {@code option} was given. */
    static boolean flag(CommandSpec spec, String option) {
        return Boolean.TRUE.equals(spec.findOption(option).getValue());
    }

    /** The parsed value of the positional parameter at {@code index} of the verb, null when not given. */
    static <T> T parameter(CommandSpec spec, int index) {
        ArgSpec p = spec.positionalParameters().get(index);
        return p.getValue();
    }
}
