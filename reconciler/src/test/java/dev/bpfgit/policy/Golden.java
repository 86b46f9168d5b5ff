package dev.bpfgit.policy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Expected outputs kept as files beside the inputs. {@code -Dbpfgit.golden.update=true} rewrites them from the
 * actual output (review the diff before committing); otherwise the whole output must match.
 */
final class Golden {
    /** Test inputs, relative to the module directory Maven runs the tests in, as a user would type a path. */
    static final String POLICIES = "src/test/resources/policies";

    private Golden() {
    }

    static String expected(Path file, String actual) {
        try {
            if (Boolean.getBoolean("bpfgit.golden.update")) {
                Files.writeString(file, actual);
            }
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
