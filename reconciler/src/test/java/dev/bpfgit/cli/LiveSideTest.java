package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** plan and explain take the live side with one option group: the same names, flags and help. */
class LiveSideTest {

    private static List<String> optionLines(String verb) {
        StringWriter out = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), verb, "--help"));
        List<String> lines = out.toString().lines()
                .filter(l -> l.matches(" {6}--(live|state|against)\\b.*")).toList();
        assertEquals(3, lines.size(), out.toString());
        return lines;
    }

    @Test
    void planAndExplainDescribeLiveStateAndAgainstAlike() {
        List<String> plan = optionLines("plan");
        assertEquals(plan, optionLines("explain"));
        assertTrue(plan.stream().anyMatch(l -> l.contains("--state=FILE")), plan.toString());
        assertTrue(plan.stream().anyMatch(l -> l.contains("--against=REV")), plan.toString());
    }

    @Test
    void theOptionsExcludeEachOtherInBothVerbs() {
        for (String verb : List.of("plan", "explain")) {
            StringWriter err = new StringWriter();
            List<String> args = verb.equals("plan") ? List.of("plan", "x", "--state", "s.json", "--against", "main")
                    : List.of("explain", "10.0.0.1", "--state", "s.json", "--against", "main");
            int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), args.toArray(String[]::new));
            assertEquals(2, code, err.toString());
            assertTrue(err.toString().contains("mutually exclusive"), err.toString());
        }
    }
}
