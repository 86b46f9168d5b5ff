package dev.bpfgit.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The source checkout's ./bpfgit starts with the AOT cache that mvn package trains for its classpath
 * (src/build/aot-cache.sh, target/aot/dev.aot): the JVM accepts it with the launcher's flags and classpath,
 * and a verb run with it gives the same result as without. No kernel, no root.
 */
class LauncherAotIT {
    private static final Path CACHE = Bpfgit.REPO.resolve("reconciler/target/aot/dev.aot");

    @Test
    void sourceLauncherUsesTheCacheMadeForItsClasspath() {
        assertTrue(Files.isRegularFile(CACHE), "mvn package trains " + CACHE);
        // fails (exit 1, "Unable to use AOT cache") when the JVM refuses the cache for these flags or this classpath
        Bpfgit.Cli listed = Bpfgit.cli(Map.of("BPFGIT_JAVA_OPTS", "-XX:+PrintSharedArchiveAndExit"), null, "--version");
        assertEquals(0, listed.exit(), listed.err());
        assertTrue(listed.out().contains("dev.bpfgit.policy.PolicyLoader app_loader"), "bpfgit's classes are in the cache");
        // picocli's Java 5 class files and JGit's signed jar, made cacheable (src/build/CacheableJar.java,
        // target/aot/classpath.txt)
        assertTrue(listed.out().contains("picocli.CommandLine app_loader"), "picocli's classes are in the cache");
        assertTrue(listed.out().contains("org.eclipse.jgit.lib.Repository app_loader"), "JGit's classes are in the cache");
        // jnr-ffi's reflection loader, which makes libc's view (Libc; no class generated with asm since native15)
        assertTrue(listed.out().contains("jnr.ffi.provider.jffi.ReflectionLibraryLoader$LazyLoader app_loader"),
                "jnr-ffi's reflection loader is in the cache");
        assertFalse(listed.out().contains("org.objectweb.asm.ClassWriter app_loader"),
                "the training made libc's view without asm (Libc sets jnr.ffi.asm.enabled=false)");
        assertTrue(listed.out().contains("Static archive name: ") && listed.out().contains("dev.aot"), "the cache is dev.aot");
    }

    /**
     * run gets its own cache (target/aot/run.aot, trained on the sidecar with edits, cli/AotRunTraining): the
     * JVM accepts it with run's flags (full tiered compiler, -Xms16m: the archived heap objects must fit the
     * initial heap, or the JVM does not start at all) and it holds the sidecar's classes.
     */
    @Test
    void runUsesItsOwnCacheTrainedOnTheSidecar() {
        Path run = Bpfgit.REPO.resolve("reconciler/target/aot/run.aot");
        assertTrue(Files.isRegularFile(run), "mvn package trains " + run);
        Bpfgit.Cli listed = Bpfgit.cli(Map.of("BPFGIT_JAVA_OPTS", "-XX:+PrintSharedArchiveAndExit"), null,
                "run", "--config", "/nonexistent/bpfgit.yaml");
        assertEquals(0, listed.exit(), listed.err());
        assertTrue(listed.out().contains("Static archive name: ") && listed.out().contains("run.aot"), "the cache is run.aot");
        for (String c : new String[]{"dev.bpfgit.run.Sidecar", "dev.bpfgit.source.DirectoryPolicySource",
                "dev.bpfgit.policy.PolicyLoader", "picocli.CommandLine"}) {
            assertTrue(listed.out().contains(c + " app_loader"), c + " is in run's cache");
        }
    }

    @Test
    void validateGivesTheSameResultWithAndWithoutTheCache() {
        String example = Bpfgit.REPO.resolve("examples/edge-filter").toString();
        Bpfgit.Cli with = Bpfgit.cli(null, "validate", example);
        // -XX:AOTMode=off: the JVM ignores the cache the launcher names
        Bpfgit.Cli without = Bpfgit.cli(Map.of("BPFGIT_JAVA_OPTS", "-XX:AOTMode=off"), null, "validate", example);
        assertEquals(0, with.exit(), with.toString());
        assertTrue(with.out().startsWith("valid: 1 policy in 1 file"), with.out());
        assertEquals(without.exit(), with.exit());
        assertEquals(without.out(), with.out());
        assertEquals(without.err(), with.err());
    }
}
