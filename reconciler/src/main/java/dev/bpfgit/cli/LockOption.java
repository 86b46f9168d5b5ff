package dev.bpfgit.cli;

import dev.bpfgit.run.Durations;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;

import java.time.Duration;

/** The option of the verbs that write: how long to wait for another writer of the same pin root. */
final class LockOption {
    Duration lockTimeout;

    /** The option, mixed into a writing verb's command line. */
    static void options(CommandSpec spec) {
        Cli.mixin(spec, "lockOption", Cli.option("--lock-timeout", "DURATION", Duration.class, new DurationConverter(),
                "Wait this long for another bpfgit writer of the pin",
                "root (500ms, 30s, 5m), then exit 3 naming it",
                "(default: lock.timeout in --config, else 30s)."));
    }

    /** Its value in a parsed command line. */
    static LockOption of(CommandSpec spec) {
        LockOption o = new LockOption();
        o.lockTimeout = Cli.value(spec, "--lock-timeout");
        return o;
    }

    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return Durations.parse(value);
        }
    }
}
