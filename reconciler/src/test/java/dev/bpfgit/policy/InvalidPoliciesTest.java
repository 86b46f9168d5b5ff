package dev.bpfgit.policy;

import dev.bpfgit.source.DirectorySource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static dev.bpfgit.policy.Golden.POLICIES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Each directory under {@code policies/invalid} holds policy files with one kind of mistake (or several) and
 * {@code expected.txt}: exactly the lines {@code validate} prints, file names relative to that directory.
 */
class InvalidPoliciesTest {
    private static final Path INVALID = Path.of(POLICIES, "invalid");

    static Stream<String> cases() throws IOException {
        try (Stream<Path> dirs = Files.list(INVALID)) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void reportsExactlyTheExpectedErrors(String name) {
        PolicyException e = assertThrows(PolicyException.class,
                () -> new PolicyLoader().load(DirectorySource.read(INVALID.resolve(name))));
        String actual = ErrorFormat.text(e).replace(INVALID + "/", "");
        assertEquals(Golden.expected(INVALID.resolve(name).resolve("expected.txt"), actual), actual);
    }
}
