package dev.bpfgit.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.codegen.docgen.manpage.ManPageGenerator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Build-time generator (run by Maven in prepare-package, never by bpfgit itself): from the picocli
 * model of the verbs ({@link Cli}), the bash completion script, the zsh completion function and AsciiDoc man pages
 * (one per verb), which Asciidoctor then turns into roff. picocli-codegen is a provided dependency: it is
 * on the build's classpath only, and this class is the only one that uses it.
 *
 * <p>Arguments: the output directory ({@code share/...} is created below it) and the AsciiDoc directory.
 */
public final class Docs {
    private Docs() {
    }

    public static void main(String[] args) throws IOException {
        Path share = Path.of(args[0]);
        Path adoc = Path.of(args[1]);
        CommandLine cl = Main.commandLine();   // every verb
        String bash = AutoComplete.bash("bpfgit", cl);
        write(share.resolve("bash-completion/completions/bpfgit"), bash);
        write(share.resolve("zsh/site-functions/_bpfgit"), zsh(bash));
        Files.createDirectories(adoc);
        int r = ManPageGenerator.generateManPage(adoc.toFile(), null, new boolean[0], false, cl.getCommandSpec());
        if (r != 0) {
            throw new IllegalStateException("man page generation failed: " + r);
        }
    }

    /**
     * picocli's script also serves zsh through bashcompinit. As an autoloaded completion function
     * ({@code #compdef}), its body runs on the first completion: it defines the bash functions, registers
     * them for later completions and completes this one.
     */
    static String zsh(String bash) {
        return "#compdef bpfgit\n"
                + "# bpfgit completion for zsh: picocli's bash completion through zsh's bashcompinit.\n"
                + "autoload -U +X bashcompinit && bashcompinit\n"
                + bash + "\n"
                + "_bash_complete -F _complete_bpfgit \"$@\"\n";
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
