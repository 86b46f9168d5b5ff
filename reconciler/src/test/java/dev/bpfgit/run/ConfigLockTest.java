package dev.bpfgit.run;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLockTest {

    @Test
    void lockTimeoutDefaultsTo30sAndIsReadFromLockTimeout(@TempDir Path dir) throws Exception {
        assertEquals(Duration.ofSeconds(30), Config.defaults().lockTimeout());
        assertEquals(Duration.ofSeconds(30), Config.load(Files.writeString(dir.resolve("a.yaml"), "root: /x\n"))
                .lockTimeout());
        assertEquals(Duration.ofMillis(1500), Config.load(Files.writeString(dir.resolve("b.yaml"),
                "lock:\n  timeout: 1500ms\n")).lockTimeout());
        dev.bpfgit.policy.PolicyException e = assertThrows(dev.bpfgit.policy.PolicyException.class, () -> Config.load(
                Files.writeString(dir.resolve("c.yaml"), "lock:\n  timeout: soon\n")));
        assertTrue(e.getMessage().contains("c.yaml:2:12: lock.timeout: must be a duration such as 500ms, 30s, 5m or 1h"
                + " (got \"soon\")"), e.getMessage());
    }

    @Test
    void theShippedConfigurationDocumentsTheDefault() throws Exception {
        assertEquals(Duration.ofSeconds(30), Config.load(Path.of("../config/bpfgit.yaml")).lockTimeout());
    }
}
