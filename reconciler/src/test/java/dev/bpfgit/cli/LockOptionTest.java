package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * --lock-timeout on the writing verbs: a malformed duration is a usage error, before any kernel access: 2 on
 * apply, 3 on destroy (its contract is 0 or 3, design section 4).
 */
class LockOptionTest {

    @Test
    void aMalformedLockTimeoutIsInvalidInput() {
        assertEquals(2, Main.execute("apply", "--lock-timeout", "soon", "policies/"));
        assertEquals(3, Main.execute("destroy", "--lock-timeout", "30 seconds"));
        assertEquals(2, Main.execute("apply", "--no-such-option"));
    }

    @Test
    void theDurationIsParsedAsThePolicyApiWritesDurations() {
        assertEquals(java.time.Duration.ofMillis(500), new LockOption.DurationConverter().convert("500ms"));
        assertEquals(java.time.Duration.ofMinutes(2), new LockOption.DurationConverter().convert("2m"));
    }
}
