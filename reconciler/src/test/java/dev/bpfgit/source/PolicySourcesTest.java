package dev.bpfgit.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PolicySourcesTest {
    @TempDir
    Path tmp;

    private GitSettings git() {
        return new GitSettings("git://127.0.0.1/p.git", "main", "hosts/edge", Duration.ofSeconds(30),
                Duration.ofSeconds(20), new GitSettings.Auth.None(), new GitSettings.Verify.Off(), tmp);
    }

    @Test
    void gitSettingsOpenAGitSourceWithoutTouchingTheNetwork() {
        try (PolicySource s = PolicySources.open(Optional.empty(), Optional.of(git()))) {
            assertInstanceOf(GitSource.class, s);
            assertEquals("git git://127.0.0.1/p.git main:hosts/edge", s.describe());
        }
    }

    @Test
    void aPathOpensAWatchedDirectoryCheckedEveryInterval() {
        try (PolicySource s = PolicySources.open(Optional.of(tmp), Optional.empty(), Duration.ofSeconds(7),
                java.time.Clock.systemUTC())) {
            assertInstanceOf(DirectoryPolicySource.class, s);
            assertEquals("directory " + tmp, s.describe());
        }
        assertEquals(Duration.ofSeconds(7), PolicySources.checkInterval(Optional.empty(), Duration.ofSeconds(7)));
        assertEquals(Duration.ofSeconds(30), PolicySources.checkInterval(Optional.of(git()), Duration.ofSeconds(7)));
    }

    @Test
    void exactlyOneSource() {
        assertThrows(IllegalArgumentException.class, () -> PolicySources.open(Optional.empty(), Optional.empty()));
        assertThrows(IllegalArgumentException.class,
                () -> PolicySources.open(Optional.of(tmp), Optional.of(git())));
    }

    @Test
    void eachUrlAndBranchGetsItsOwnClone() {
        GitSettings a = git();
        GitSettings b = new GitSettings(a.url(), "other", a.path(), a.interval(), a.timeout(), a.auth(), a.verify(),
                a.cache());
        assertEquals(GitSource.cacheName(a), GitSource.cacheName(git()));
        assertEquals("p-", GitSource.cacheName(a).substring(0, 2));
        assertEquals(18, GitSource.cacheName(a).length());
        assertNotEquals(GitSource.cacheName(a), GitSource.cacheName(b));
    }
}
