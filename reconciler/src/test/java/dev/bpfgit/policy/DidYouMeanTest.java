package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DidYouMeanTest {
    private static final List<String> RULE = List.of("prefix", "action", "to", "mark");

    @Test
    void suggestsCloseWords() {
        assertEquals(Optional.of("prefix"), DidYouMean.suggest("prefx", RULE));
        assertEquals(Optional.of("action"), DidYouMean.suggest("actoin", RULE));
        assertEquals(Optional.of("mark"), DidYouMean.suggest("Mark", RULE));
        assertEquals(Optional.of("default"), DidYouMean.suggest("defualt", List.of("match", "default")));
    }

    @Test
    void staysQuietWhenNothingIsClose() {
        assertEquals(Optional.empty(), DidYouMean.suggest("comment", RULE));
        assertEquals(Optional.empty(), DidYouMean.suggest("do", RULE));   // "to" is too short to guess from
    }
}
