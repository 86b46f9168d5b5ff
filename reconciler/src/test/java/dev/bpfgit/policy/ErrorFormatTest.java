package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ErrorFormatTest {
    private final PolicyException errors = new PolicyException(List.of(
            new PolicyError(new Location("policies/a.yaml", 3, 9), "/spec/hook",
                    "must be one of xdp, tc-ingress, tc-egress (got \"xpd\")"),
            new PolicyError(new Location("policies/b.yaml", 6, 7), "",
                    "invalid YAML: expected ',' or ']', but got :")));

    @Test
    void textIsOneCompilerStyleLinePerError() {
        assertEquals("""
                policies/a.yaml:3:9: error: /spec/hook: must be one of xdp, tc-ingress, tc-egress (got "xpd")
                policies/b.yaml:6:7: error: invalid YAML: expected ',' or ']', but got :
                """, ErrorFormat.text(errors));
    }

    @Test
    void githubIsOneAnnotationPerError() {
        assertEquals("""
                ::error file=policies/a.yaml,line=3,col=9::/spec/hook: must be one of xdp, tc-ingress, tc-egress (got "xpd")
                ::error file=policies/b.yaml,line=6,col=7::invalid YAML: expected ',' or ']', but got :
                """, ErrorFormat.github(errors));
    }

    @Test
    void githubEscapesWhatTheRunnerWouldOtherwiseParse() {
        PolicyError e = new PolicyError(new Location("odd,name:x.yaml", 1, 2), "/a", "100% wrong\nsecond line");
        assertEquals("::error file=odd%2Cname%3Ax.yaml,line=1,col=2::/a: 100%25 wrong%0Asecond line",
                ErrorFormat.github(e));
    }
}
