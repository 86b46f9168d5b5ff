package dev.bpfgit.it;

import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * design.md section 1 and 4: plan, apply, status, state export, destroy and run need root for live state.
 * Without it each exits 3 with one line on stderr saying so, prints nothing on stdout, and leaves the pin
 * root as it was; plan against a state file needs nothing (CliIT).
 */
@KernelTest
class ContractIT {

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void everyVerbThatReadsOrWritesTheKernelExitsThreeWithoutRootAndTouchesNothing() throws Exception {
        Path work = Files.createTempDirectory("bpfgit-contractit-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        try (PinRoot root = PinRoot.create()) {
            Path policies = write(work.resolve("policies"), "edge.yaml", traffic("edge-filter", "eth0", "xdp",
                    "source", "pass", "{prefix: 203.0.113.0/24, action: drop}")).getParent();
            Path config = Files.writeString(work.resolve("bpfgit.yaml"), "source: {path: " + policies
                    + "}\nmetrics: {listen: '127.0.0.1:0'}\n");
            String r = root.path().toString();
            List<List<String>> verbs = List.of(
                    List.of("plan", policies.toString(), "--root", r),
                    List.of("plan", policies.toString(), "--live", "--root", r),
                    List.of("apply", policies.toString(), "--yes", "--root", r),
                    List.of("status", "--root", r),
                    List.of("status", "-o", "json", "--root", r),
                    List.of("state", "export", "--root", r),
                    List.of("destroy", "--yes", "--root", r),
                    List.of("run", "--config", config.toString(), "--root", r));
            for (List<String> verb : verbs) {
                Bpfgit.Cli cli = Bpfgit.asNobody(work, verb.toArray(String[]::new));
                assertEquals(3, cli.exit(), cli.toString());
                assertEquals("", cli.out(), cli.toString());
                assertTrue(cli.err().startsWith("error: ") && cli.err().contains("root"), cli.toString());
                try (Stream<Path> left = Files.list(root.path())) {
                    assertEquals(List.of(), left.toList(), verb + " changed the pin root");
                }
            }
        } finally {
            dev.bpfgit.kernel.testing.Commands.run("rm", "-rf", work.toString());
        }
    }
}
