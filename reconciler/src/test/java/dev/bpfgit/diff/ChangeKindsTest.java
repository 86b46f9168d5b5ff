package dev.bpfgit.diff;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kinds of {@link Change} that the instanceof chains of a cold apply's path know: {@code Applier.step},
 * {@link Summary}, {@code PlanText}'s lines and tables. They are chains, not pattern switches, because a switch
 * over types makes SwitchBootstraps generate a class at its first run (bench/README.md, switch14), so the
 * compiler no longer says when a kind is missing: this test does. A new kind: add it to those chains, then here.
 */
class ChangeKindsTest {
    @Test
    void theChainsKnowEveryKindOfChange() {
        Set<String> kinds = Arrays.stream(Change.class.getPermittedSubclasses()).map(Class::getSimpleName)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(Set.of("CreateMap", "ReplaceMap", "PutEntries", "DeleteEntries", "LoadProgram",
                "CreateLink", "UpdateLink", "Rename", "Unpin")), kinds);
    }
}
