package dev.bpfgit.kernel.testing;

import java.time.Duration;

/**
 * Stretches the fixed deadlines of tests by the system property {@code bpfgit.test.timeScale} (default 1).
 * A guest under qemu TCG (.ci/kernels) runs JVM work 15-18x slower than this host; its deadlines grow with
 * it, while on real hardware they stay as tight as written.
 */
public final class TimeScale {
    private static final double SCALE = parse(System.getProperty("bpfgit.test.timeScale", "1"));

    private TimeScale() {
    }

    public static Duration of(Duration d) {
        return Duration.ofNanos(Math.round(d.toNanos() * SCALE));
    }

    public static long seconds(long s) {
        return Math.round(s * SCALE);
    }

    private static double parse(String s) {
        double v = Double.parseDouble(s);
        if (!(v >= 1)) {
            throw new IllegalArgumentException("bpfgit.test.timeScale is " + s + ": a factor of at least 1");
        }
        return v;
    }
}
