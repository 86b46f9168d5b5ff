package dev.bpfgit.render;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** An entry's line: six spaces, its symbol, its key padded to the block's width, two spaces, its text. */
class PlanTextLineTest {
    @Test
    void theKeyIsPaddedToTheWidthAndNeverCut() {
        Random r = new Random(1728);
        for (int n = 0; n < 10_000; n++) {
            String key = "k".repeat(r.nextInt(40));
            String text = "t".repeat(r.nextInt(30));
            int width = r.nextInt(50);
            char symbol = "+~-".charAt(r.nextInt(3));
            String padded = key.length() >= width ? key : key + " ".repeat(width - key.length());
            assertEquals("      " + symbol + " " + padded + "  " + text, PlanText.line(symbol, key, text, width));
        }
        assertEquals("      + 10.0.0.0/8    drop", PlanText.line('+', "10.0.0.0/8", "drop", 12));
    }
}
