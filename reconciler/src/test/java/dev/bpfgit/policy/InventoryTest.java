package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class InventoryTest {

    @Test
    void hostsAndGroupsInFileOrderWithStateFilesRelativeToTheInventory(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(Files.createDirectories(dir.resolve("ci")).resolve("hosts.yaml"), """
                hosts:
                  - name: edge-1
                    labels: {role: edge, zone: eu-1}
                    state: states/edge-1.json
                  - names: [db-1, db-2]
                    labels: {role: db}
                    state: ../shared/db.json
                  - name: bare
                """);
        Inventory inv = Inventory.read(file);
        assertEquals(List.of("edge-1", "db-1", "db-2", "bare"), inv.hosts().stream().map(Inventory.Host::name).toList());
        Inventory.Host edge = inv.hosts().getFirst();
        assertEquals(Map.of("role", "edge", "zone", "eu-1"), edge.labels());
        assertEquals(Optional.of(dir.resolve("ci/states/edge-1.json")), edge.state());
        assertEquals(new Location(file.toString(), 4, 12), edge.at());
        assertEquals(Optional.of(dir.resolve("shared/db.json")), inv.hosts().get(2).state());
        assertEquals(Map.of("role", "db"), inv.hosts().get(2).labels());
        assertEquals(Map.of(), inv.hosts().get(3).labels());
        assertEquals(Optional.empty(), inv.hosts().get(3).state());
    }

    @Test
    void everyMistakeIsReportedWithFileLineAndColumn(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("hosts.yaml"), """
                hosts:
                  - name: edge-1
                    names: [edge-2]
                  - name: "bad name"
                    labels: {zone: 1}
                    stat: x.json
                  - labels: {role: db}
                  - names: [edge-1, edge-1]
                  - name: edge-3
                  - name: edge-3
                """);
        PolicyException e = assertThrows(PolicyException.class, () -> Inventory.read(file));
        String f = file.toString();
        assertEquals(List.of(
                f + ":2:5: error: /hosts/0: a host entry needs exactly one of 'name' (one host) or 'names' (a group of hosts)",
                f + ":4:11: error: /hosts/1/name: must be a host name: letters, digits, '.', '_' and '-', starting with"
                        + " a letter or digit (got \"bad name\")",
                f + ":5:20: error: /hosts/1/labels/zone: must be a string (got 1); write \"1\"",
                f + ":6:11: error: /hosts/1/stat: unknown field (did you mean \"state\"?)",
                f + ":7:5: error: /hosts/2: a host entry needs exactly one of 'name' (one host) or 'names' (a group of hosts)",
                f + ":8:21: error: /hosts/3/names/1: \"edge-1\" is listed twice (also item 0)"),
                ErrorFormat.text(e).lines().toList());
    }

    @Test
    void aHostNamedTwiceIsAnError(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("hosts.yaml"), "hosts:\n  - name: a\n  - names: [b, a]\n");
        PolicyException e = assertThrows(PolicyException.class, () -> Inventory.read(file));
        assertEquals(List.of(file + ":3:16: error: /hosts/1/names/1: host a is listed twice (first at line 2)"),
                ErrorFormat.text(e).lines().toList());
    }

    @Test
    void notAnInventoryAtAll(@TempDir Path dir) throws Exception {
        for (var c : Map.of("- a\n", ":1:1: error: an inventory must be a mapping with a 'hosts' list",
                "# nothing\n", ":1:1: error: the inventory is empty: it needs a 'hosts' list",
                "hosts: []\n", ":1:8: error: /hosts: must not be empty",
                "hosts: [{name: a}]\n---\nhosts: [{name: b}]\n", ":3:1: error: an inventory is one YAML document;"
                        + " remove this '---'",
                "hosts: [{name: a\n", ":2:1: error: invalid YAML").entrySet()) {
            Path file = Files.writeString(dir.resolve("h.yaml"), c.getKey());
            PolicyException e = assertThrows(PolicyException.class, () -> Inventory.read(file), c.getKey());
            assertEquals(file + c.getValue(), ErrorFormat.text(e.errors().getFirst()).substring(0,
                    Math.min(ErrorFormat.text(e.errors().getFirst()).length(), (file + c.getValue()).length())), c.getKey());
        }
    }
}
