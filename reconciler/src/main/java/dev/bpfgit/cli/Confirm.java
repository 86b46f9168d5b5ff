package dev.bpfgit.cli;

import java.io.Console;
import java.io.PrintWriter;

/** Confirmation on a terminal; scripts (no terminal) and --yes proceed, as kubectl apply does. */
final class Confirm {
    private Confirm() {
    }

    static boolean ask(boolean yes, String question, PrintWriter out) {
        if (yes) {
            // before System.console(): it looks up the JDK's console providers (jline's, jshell's), every
            // apply --yes for nothing (bench/README.md, switch14)
            return true;
        }
        Console console = System.console();
        if (console == null || !console.isTerminal()) {
            return true;
        }
        out.flush();
        String answer = console.readLine("%s [y/N] ", question);
        return answer != null && (answer.trim().equalsIgnoreCase("y") || answer.trim().equalsIgnoreCase("yes"));
    }
}
