package dev.bpfgit.cli;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.state.StateFile;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@code plan} and {@code explain} take as the host's present state: the kernel ({@code --live}, the
 * default), a {@code state export} file ({@code --state}) or another git revision compiled as if applied
 * ({@code --against}). One exclusive option group, so both verbs spell and explain the options alike.
 */
final class LiveSide {
    @Option(names = "--live", description = "Read the kernel (the default; needs root).")
    boolean live;

    @Option(names = "--state", paramLabel = "FILE",
            description = {"Read a file from 'bpfgit state export' instead of", "the kernel (no root needed)."})
    Path state;

    @Option(names = "--against", paramLabel = "REV",
            description = {"Compile the policies at this git revision of the", "same repository, as if applied (no root needed)."})
    String against;

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
