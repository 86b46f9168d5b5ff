package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every verb's {@code --help} fits 80 columns as written: no line longer, and nothing re-wrapped by picocli
 * (a description longer than its column is cut into a full line and a short one). The help rendered 80
 * columns wide must equal the help rendered 200 wide, where nothing is wrapped; only the synopsis (the
 * "Usage:" line, which picocli wraps with its continuation aligned) may wrap.
 */
class HelpLayoutTest {

    /** Every command line a user can ask help of: bpfgit, each verb and each verb's subcommands. */
    private static List<CommandLine> all(CommandLine cl) {
        List<CommandLine> out = new ArrayList<>(List.of(cl));
        cl.getSubcommands().values().forEach(sub -> out.addAll(all(sub)));
        return out;
    }

    private static String help(CommandLine cl, int width) {
        cl.getCommandSpec().usageMessage().width(width);
        return cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    /** The help without its synopsis, which picocli wraps by design, with the options aligned under the verb. */
    private static String withoutSynopsis(CommandLine cl, int width) {
        List<String> keys = cl.getHelpSectionKeys();
        List<String> others = new ArrayList<>(keys);
        others.remove(CommandLine.Model.UsageMessageSpec.SECTION_KEY_SYNOPSIS_HEADING);
        others.remove(CommandLine.Model.UsageMessageSpec.SECTION_KEY_SYNOPSIS);
        cl.setHelpSectionKeys(others);
        try {
            return help(cl, width);
        } finally {
            cl.setHelpSectionKeys(keys);
        }
    }

    @Test
    void everyVerbsHelpFitsEightyColumnsWithoutBeingRewrapped() {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (CommandLine cl : all(Main.commandLine())) {
            String name = cl.getCommandSpec().qualifiedName();
            String narrow = help(cl, 80);
            for (String line : narrow.lines().toList()) {
                if (line.length() > 80) {
                    problems.add(name + ": " + line.length() + " columns: " + line);
                }
            }
            String wide = withoutSynopsis(cl, 200);
            String narrowText = withoutSynopsis(cl, 80);
            if (!narrowText.equals(wide)) {
                List<String> n = narrowText.lines().toList();
                List<String> w = wide.lines().toList();
                for (int i = 0; i < Math.min(n.size(), w.size()); i++) {
                    if (!n.get(i).equals(w.get(i))) {
                        problems.add(name + ": re-wrapped at 80 columns: " + w.get(i));
                        break;
                    }
                }
            }
            help(cl, 80);
            checked++;
        }
        assertTrue(checked >= 11, "verbs checked: " + checked);
        assertEquals(List.of(), problems, String.join("\n", problems));
    }
}
