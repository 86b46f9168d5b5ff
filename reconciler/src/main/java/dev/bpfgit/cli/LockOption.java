package dev.bpfgit.cli;

import dev.bpfgit.run.Durations;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

import java.time.Duration;

/** The option of the verbs that write: how long to wait for another writer of the same pin root. */
final class LockOption {
    @Option(names = "--lock-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = {"Wait this long for another bpfgit writer of the pin",
                    "root (500ms, 30s, 5m), then exit 3 naming it",
                    "(default: lock.timeout in --config, else 30s)."})
    Duration lockTimeout;

    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return Durations.parse(value);
        }
    }
}
