package dev.bpfgit.policy;

import java.util.stream.Collectors;

/** How the CLI prints policy mistakes: for people ({@code -o text}) and for GitHub Actions ({@code -o github}). */
public final class ErrorFormat {
    private ErrorFormat() {
    }

    /** {@code file:line:column: error: pointer: message}, one line per error, as compilers print them. */
    public static String text(PolicyException e) {
        return e.errors().stream().map(ErrorFormat::text).collect(Collectors.joining("\n", "", "\n"));
    }

    public static String text(PolicyError e) {
        return e.location() + ": error: " + pointed(e);
    }

    /**
     * {@code ::error file=F,line=L,col=C::pointer: message}: GitHub shows it on the line of the pull request.
     * Property values and the message are escaped as the runner's workflow command parser expects.
     */
    public static String github(PolicyException e) {
        return e.errors().stream().map(ErrorFormat::github).collect(Collectors.joining("\n", "", "\n"));
    }

    public static String github(PolicyError e) {
        Location l = e.location();
        return "::error file=" + property(l.file()) + ",line=" + l.line() + ",col=" + l.column() + "::"
                + data(pointed(e));
    }

    private static String pointed(PolicyError e) {
        return (e.pointer().isEmpty() ? "" : e.pointer() + ": ") + e.message();
    }

    private static String data(String s) {
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A");
    }

    private static String property(String s) {
        return data(s).replace(":", "%3A").replace(",", "%2C");
    }
}
