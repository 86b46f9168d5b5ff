package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** --lock-timeout on the writing verbs: a malformed duration is invalid input (2), before any kernel access. */
class LockOptionTest {

    @Test
    void aMalformedLockTimeoutIsInvalidInput() {
        assertEquals(2, Main.execute("apply", "--lock-timeout", "soon", "policies/"));
        assertEquals(2, Main.execute("destroy", "--lock-timeout", "30 seconds"));
        assertEquals(2, Main.execute("apply", "--no-such-option"));
    }

    @Test
    void theDurationIsParsedAsThePolicyApiWritesDurations() {
        assertEquals(java.time.Duration.ofMillis(500), new LockOption.DurationConverter().convert("500ms"));
        assertEquals(java.time.Duration.ofMinutes(2), new LockOption.DurationConverter().convert("2m"));
    }
}
