package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.Test;

import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LoaderTest {

    @Test
    void verifierLogKeepsItsTailWhereTheRejectionIs() {
        String log = IntStream.rangeClosed(1, 100).mapToObj(i -> "line " + i).collect(Collectors.joining("\n")) + "\n";
        String tail = Loader.tail(log, 3);
        assertEquals("... (97 lines before)\nline 98\nline 99\nline 100", tail);
        assertEquals("a\nb", Loader.tail("a\nb\n", 40));
    }
}
