package dev.bpfgit.cli;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.state.StateFile;
import picocli.CommandLine.Model.ArgGroupSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@code plan} and {@code explain} take as the host's present state: the kernel ({@code --live}, the
 * default), a {@code state export} file ({@code --state}) or another git revision compiled as if applied
 * ({@code --against}). One exclusive option group, so both verbs spell and explain the options alike.
 */
final class LiveSide {
    // the values, read from a parsed command line by of()
    boolean live;
    Path state;
    String against;

    /** The options, one exclusive group in a verb's command line. */
    static void options(CommandSpec spec) {
        spec.addArgGroup(ArgGroupSpec.builder().exclusive(true).multiplicity("0..1")
                .addArg(OptionSpec.builder("--live").paramLabel("<live>").type(boolean.class).initialValue(false)
                        .required(true).description("Read the kernel (the default; needs root).").build())
                .addArg(OptionSpec.builder("--state").paramLabel("FILE").type(Path.class).required(true)
                        .description("Read a file from 'bpfgit state export' instead of", "the kernel (no root needed).")
                        .build())
                .addArg(OptionSpec.builder("--against").paramLabel("REV").type(String.class).required(true)
                        .description("Compile the policies at this git revision of the",
                                "same repository, as if applied (no root needed).").build())
                .build());
    }

    /** Their values in a parsed command line. */
    static LiveSide of(CommandSpec spec) {
        LiveSide s = new LiveSide();
        s.live = Cli.flag(spec, "--live");
        s.state = Cli.value(spec, "--state");
        s.against = Cli.value(spec, "--against");
        return s;
    }

    /** The host of a state file: its kernel, pin root and facts, with --root, --host and --label given over the file's. */
    record FromState(Kernel kernel, Path root, HostFacts host) {
    }

    /** {@code --state FILE}, read; a file that cannot be read or is not a state export is invalid input. */
    FromState readState(Common common) {
        StateFile.Loaded loaded;
        try (var in = Files.newBufferedReader(state)) {   // parsed as read: a million entries are 100 MB of text
            loaded = StateFile.read(in, state.toString());
        } catch (IOException e) {
            throw new UsageException("read state file " + state + ": " + e.getMessage());
        } catch (java.io.UncheckedIOException e) {
            throw new UsageException("read state file " + state + ": " + e.getCause().getMessage());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        HostFacts h = loaded.host();
        HostFacts host = new HostFacts(common.host != null ? common.host : h.name(),
                common.labels.isEmpty() ? h.labels() : common.hostLabels(), h.interfaces(), h.cgroups(), h.features());
        return new FromState(loaded.kernel(), common.root != null ? common.root() : loaded.root(), host);
    }
}
