package dev.bpfgit.policy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.FileSystems;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Glob matches what the JDK's glob PathMatcher matched before it, for host names. */
class GlobTest {
    @ParameterizedTest
    @CsvSource(delimiter = ' ', value = {
            "edge-* edge-1", "edge-* edge-", "edge-* core-1", "*-1 edge-1", "*-1 edge-12", "db-[0-9] db-7",
            "db-[0-9] db-x", "db-[!0-9] db-x", "db-[!0-9] db-7", "db-[a-cx] db-b", "db-[a-cx] db-x", "db-[a-cx] db-d",
            "?? ab", "?? abc", "{web,api}-* api-1", "{web,api}-* db-1", "{web,api}-{1,2} web-2", "{web,api}-{1,2} web-3",
            "a*b*c abc", "a*b*c aXbYc", "a*b*c aXbYcZ", "**x ax", "\\*x *x", "\\*x ax", "*a*a*b aaab", "*a*a*b aab",
            "e{,x}dge edge", "e{,x}dge exdge", "[a-] -", "[a-] b"})
    void matchesAsTheJdkGlobDid(String glob, String name) {
        boolean jdk = FileSystems.getDefault().getPathMatcher("glob:" + glob).matches(Path.of(name));
        assertEquals(jdk, Glob.compile(glob).matches(name), glob + " on " + name);
    }
}
