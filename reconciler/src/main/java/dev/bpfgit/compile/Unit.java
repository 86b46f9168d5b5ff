package dev.bpfgit.compile;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything pinned in one directory that lives and dies together: e.g. the program, link and maps of
 * one (interface, hook) of a kind that acts on interfaces. Several policies may share a unit.
 *
 * @param label    where it acts, for plans: {@code "eth0, xdp"}
 * @param policies ids ({@code Kind/name}) of the policies compiled into it, sorted
 */
public record Unit(Path dir, String kind, String label, List<String> policies, List<MapDesire> maps,
                   List<ProgramDesire> programs, List<LinkDesire> links) {
    public Unit {
        policies = List.copyOf(policies);
        maps = List.copyOf(maps);
        programs = List.copyOf(programs);
        links = List.copyOf(links);
    }
}
