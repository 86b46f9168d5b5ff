package dev.bpfgit.diff;

import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanMarkdown;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.source.Commit;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.bpfgit.diff.Fixture.policy;
import static dev.bpfgit.diff.Fixture.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DifferTest {
    private static final Path UNIT = Fixture.ROOT.resolve("traffic/eth0/xdp");
    private final Fixture f = new Fixture();

    private static Snapshot edge(String revision, String... rules) {
        return snapshot(revision, "policies/edge.yaml", policy("edge-filter", "eth0", "xdp", rules));
    }

    @Test
    void examplePlanMatchesItsExpectedOutput() throws Exception {
        Path dir = Path.of("../examples/edge-filter");
        Snapshot s = snapshot("example", "examples/edge-filter/policy.yaml", Files.readString(dir.resolve("policy.yaml")));
        assertEquals(Files.readString(dir.resolve("plan.txt")), PlanText.render(f.plan(s)));
    }

    /** design §4's text plan, byte for byte; mark needs a tc hook, so only the attach point differs. */
    private static final String CONTRACT_PLAN = """
            TrafficPolicy/edge-filter (eth0, xdp)
              ~ map rules: +1 -1 ~1 (3 -> 3 entries)
                  + 198.51.100.0/24  redirect eth1
                  ~ 10.0.0.0/8       mark 0x10 (was 0x20)
                  - 192.0.2.0/24     drop
            Plan: 0 to create, 1 to change, 0 to remove; entries +1 ~1 -1.
            """;

    @Test
    void aChangeOfThreeRulesReadsAsTheContractShows() {
        Snapshot before = snapshot("r1", "policies/edge.yaml", policy("edge-filter", "eth0", "tc-ingress",
                "{prefix: 10.0.0.0/8, action: mark, mark: 0x20}", "{prefix: 192.0.2.0/24, action: drop}",
                "{prefix: 2001:db8::/32, action: drop}"));
        f.converge(before);
        Snapshot after = snapshot("r2", "policies/edge.yaml", policy("edge-filter", "eth0", "tc-ingress",
                "{prefix: 10.0.0.0/8, action: mark, mark: 0x10}", "{prefix: 198.51.100.0/24, action: redirect, to: eth1}",
                "{prefix: 2001:db8::/32, action: drop}"));
        // the v6 rule stays: the table is counted over both families (3 -> 3), not the v4 map's 2 -> 2
        assertEquals(CONTRACT_PLAN.replace("(eth0, xdp)", "(eth0, tc-ingress)"), PlanText.render(f.plan(after)));
    }

    @Test
    void aTableChangedInBothFamiliesCountsAsOneChange() {
        f.converge(edge("r1", "{prefix: 192.0.2.0/24, action: drop}", "{prefix: 2001:db8::/32, action: drop}"));
        Plan p = f.plan(edge("r2", "{prefix: 198.51.100.0/24, action: drop}", "{prefix: 2001:db8:1::/48, action: drop}"));
        assertEquals("""
                TrafficPolicy/edge-filter (eth0, xdp)
                  ~ map rules: +2 -2 (2 -> 2 entries)
                      + 198.51.100.0/24  drop
                      - 192.0.2.0/24     drop
                      + 2001:db8:1::/48  drop
                      - 2001:db8::/32    drop
                Plan: 0 to create, 1 to change, 0 to remove; entries +2 ~0 -2.
                """, PlanText.render(p));
        assertEquals(2, p.summary().change(), "the JSON plan's summary still counts the kernel's two maps");
    }

    /** A tc policy beside another team's tcx program: attached with a warning, as the example says. */
    @Test
    void tcCoexistExamplePlanMatchesItsExpectedOutput() throws Exception {
        Path dir = Path.of("../examples/tc-coexist");
        f.kernel.attachForeign(new AttachPoint.Tcx("eth0", AttachPoint.Direction.INGRESS), 41, "ratelimit");
        String yaml = Files.readString(dir.resolve("policy.yaml"));
        Snapshot s = snapshot("example", "examples/tc-coexist/policy.yaml", yaml);
        assertEquals(Fixture.expected(dir.resolve("plan.txt"), PlanText.render(f.plan(s))), PlanText.render(f.plan(s)));
        ForeignProgramException e = assertThrows(ForeignProgramException.class, () -> f.plan(snapshot("example",
                "examples/tc-coexist/policy.yaml", yaml.replace("foreignPrograms: coexist", "foreignPrograms: refuse"))));
        assertTrue(e.getMessage().startsWith("eth0 tcx-ingress: program id 41 \"ratelimit\""), e.getMessage());
    }

    @Test
    void blocklistExamplePlanMatchesItsExpectedOutput() throws Exception {
        Path dir = Path.of("../examples/blocklist");
        Snapshot s = snapshot("example", "examples/blocklist/policy.yaml", Files.readString(dir.resolve("policy.yaml")));
        String plan = PlanText.render(f.plan(s));
        assertEquals(Fixture.expected(dir.resolve("plan.txt"), plan), plan);
    }

    @Test
    void aListOfPrefixesPlansAndAppliesAsOneRulePerPrefix() {
        Snapshot list = edge("r1", "{prefix: 10.0.0.0/8, action: pass}",
                "{prefixes: [203.0.113.0/24, 2001:DB8:bad::/48, 198.51.100.0/24], action: redirect, to: eth1}");
        Snapshot single = edge("r1", "{prefix: 10.0.0.0/8, action: pass}",
                "{prefix: 203.0.113.0/24, action: redirect, to: eth1}",
                "{prefix: 2001:db8:bad::/48, action: redirect, to: eth1}",
                "{prefix: 198.51.100.0/24, action: redirect, to: eth1}");
        Plan p = f.plan(list);
        assertEquals(PlanText.render(new Fixture().plan(single)), PlanText.render(p));
        assertEquals(new Summary(6, 0, 0, 5, 0, 0), p.summary());
        assertEquals(5, f.converge(list).entriesWritten());
        assertTrue(f.plan(list).inSync());
        assertTrue(f.plan(single).inSync(), "the same entries, whichever form");
        Plan drop = f.plan(edge("r2", "{prefix: 10.0.0.0/8, action: pass}",
                "{prefixes: [203.0.113.0/24, 198.51.100.0/24], action: redirect, to: eth1}"));
        assertEquals(new Summary(0, 1, 0, 0, 0, 1), drop.summary());
        assertTrue(PlanText.render(drop).contains("- 2001:db8:bad::/48  redirect eth1"), PlanText.render(drop));
    }

    @Test
    void aGitCommitIsRecordedForStatusAndForgottenByALaterDirectoryRevision() {
        String subject = "r\u00e9gle ".repeat(40).strip();
        Commit c = new Commit("0123456789abcdef0123456789abcdef01234567", subject, "Ada <ada@example.com>",
                Instant.parse("2026-11-20T08:00:00Z"), Optional.of("ada@example.com SHA256:abc"));
        Snapshot files = edge("unused", "{prefix: 203.0.113.0/24, action: drop}");
        Plan p = f.plan(new Snapshot(c.id(), files.files(), Optional.of(c)));
        assertEquals(c.id(), p.meta().get("revision"));
        String shown = p.meta().get(Meta.COMMIT_SUBJECT);
        assertTrue(shown.endsWith("\u2026") && subject.startsWith(shown.substring(0, shown.length() - 1)), shown);
        int bytes = shown.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        assertTrue(bytes <= Meta.VALUE_SIZE - 1 && bytes > Meta.VALUE_SIZE - 5, bytes + " bytes");
        assertEquals("2026-11-20T08:00:00Z", p.meta().get(Meta.COMMIT_AUTHOR_TIME));
        assertEquals("ada@example.com SHA256:abc", p.meta().get(Meta.COMMIT_SIGNER));
        f.apply(p);

        Plan dir = f.plan(edge("dir:0a", "{prefix: 203.0.113.0/24, action: drop}"));
        assertTrue(dir.inSync());
        assertFalse(dir.meta().containsKey(Meta.COMMIT_SUBJECT));
        assertTrue(dir.metaDeletes().containsAll(List.of(Meta.COMMIT_SUBJECT, Meta.COMMIT_AUTHOR_TIME,
                Meta.COMMIT_SIGNER)), dir.metaDeletes().toString());
    }

    @Test
    void metaValuesAreCutAtACharacterBoundary() {
        assertEquals("short", Meta.fit("short"));
        String exact = "x".repeat(Meta.VALUE_SIZE - 1);
        assertEquals(exact, Meta.fit(exact));
        assertEquals("x".repeat(Meta.VALUE_SIZE - 4) + "\u2026", Meta.fit(exact + "y"));
        String emoji = "\uD83D\uDE80".repeat(60);
        String cut = Meta.fit(emoji);
        assertEquals(Meta.VALUE_SIZE - 4 - (Meta.VALUE_SIZE - 4) % 4 + 3,
                cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        assertTrue(cut.endsWith("\uD83D\uDE80\u2026"), cut);
    }

    @Test
    void firstPlanCreatesEverythingThenApplyConverges() {
        Snapshot s = edge("r1", "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 2001:db8:bad::/48, action: drop}",
                "{prefix: 198.51.100.0/24, action: redirect, to: eth1}");
        Plan p = f.plan(s);
        Fixture.golden("first-plan.txt", PlanText.render(p));
        assertEquals(new Summary(6, 0, 0, 4, 0, 0), p.summary());
        ApplyResult r = f.converge(s);
        assertEquals(4, r.entriesWritten());
        assertEquals("No changes: the host is in sync with revision r1.\n", PlanText.render(f.plan(s)));
    }

    @Test
    void changingOneRuleWritesExactlyThatEntryAndKeepsItsCounterSlot() {
        f.converge(edge("r1", "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 10.0.0.0/8, action: pass}"));
        Bytes key = TrafficLayout.key(Prefix.parse("203.0.113.0/24"));
        Bytes before = f.kernel.lookup(UNIT.resolve("rules_v4"), key).orElseThrow();

        Snapshot changed = edge("r2", "{prefix: 203.0.113.0/24, action: pass}", "{prefix: 10.0.0.0/8, action: pass}");
        Plan p = f.plan(changed);
        Fixture.golden("one-rule-changed.txt", PlanText.render(p));
        assertEquals(new Summary(0, 1, 0, 0, 1, 0), p.summary());
        ApplyResult r = f.apply(p);
        assertEquals(1, r.entriesWritten());
        assertEquals(0, r.entriesDeleted());
        Bytes after = f.kernel.lookup(UNIT.resolve("rules_v4"), key).orElseThrow();
        assertEquals(Le.u64(before.toArray(), 0), Le.u64(after.toArray(), 0), "slot and generation are kept");
        assertTrue(f.plan(changed).inSync());
    }

    @Test
    void addsGoMostSpecificFirstAndRemovalsLeastSpecificFirst() {
        f.converge(edge("r1", "{prefix: 10.0.0.0/8, action: drop}", "{prefix: 10.1.0.0/16, action: pass}",
                "{prefix: 10.1.2.0/24, action: drop}"));
        Plan p = f.plan(edge("r2", "{prefix: 172.16.0.0/12, action: drop}", "{prefix: 172.16.1.0/24, action: pass}",
                "{prefix: 172.16.1.1/32, action: drop}"));
        List<Change> changes = p.units().getFirst().changes();
        Change.PutEntries put = (Change.PutEntries) changes.stream().filter(c -> c instanceof Change.PutEntries)
                .findFirst().orElseThrow();
        assertEquals(List.of("172.16.1.1/32", "172.16.1.0/24", "172.16.0.0/12"),
                put.changes().stream().map(EntryChange::key).toList());
        Change.DeleteEntries del = (Change.DeleteEntries) changes.getLast();
        assertEquals(List.of("10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"),
                del.changes().stream().map(EntryChange::key).toList());
        assertTrue(changes.indexOf(put) < changes.indexOf(del), "removals run after every add");
    }

    @Test
    void newRulesDoNotTakeTheCounterSlotOfARuleRemovedInTheSamePlan() {
        f.converge(edge("r1", "{prefix: 192.0.2.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: drop}"));
        long removedSlot = slot("192.0.2.0/24");
        f.converge(edge("r2", "{prefix: 198.51.100.0/24, action: drop}", "{prefix: 203.0.113.0/24, action: drop}"));
        assertFalse(slot("203.0.113.0/24") == removedSlot, "fresh slot while the old rule could still be counting");
    }

    @Test
    void policiesSharingAnInterfaceAreGroupedByPolicy() {
        Snapshot both = snapshot("r1",
                "a.yaml", policy("alpha", "eth0", "xdp", "{prefix: 192.0.2.0/24, action: drop}"),
                "b.yaml", policy("beta", "eth0", "xdp", "{prefix: 198.51.100.0/24, action: drop}",
                        "{prefix: 2001:db8::/32, action: drop}"));
        f.converge(both);
        Plan p = f.plan(snapshot("r2", "a.yaml", policy("alpha", "eth0", "xdp", "{prefix: 192.0.2.0/24, action: drop}")));
        Fixture.golden("shared-unit-remove-one-policy.txt", PlanText.render(p));
        ApplyResult r = f.apply(p);
        assertEquals(2, r.entriesDeleted());
        assertEquals(1, f.kernel.entries(UNIT.resolve("rules_v4")).size());
    }

    @Test
    void capacityChangeReplacesMapsAndSwapsTheProgramAtomically() {
        Snapshot small = snapshot("r1", "p.yaml", policy("edge-filter", "eth0", "xdp",
                "{prefix: 192.0.2.0/24, action: drop}").replace("  rules:", "  capacity: 64\n  rules:"));
        f.converge(small);
        int linkId = f.kernel.linkInfo(UNIT.resolve("link")).orElseThrow().id();
        Snapshot big = snapshot("r2", "p.yaml", policy("edge-filter", "eth0", "xdp",
                "{prefix: 192.0.2.0/24, action: drop}").replace("  rules:", "  capacity: 128\n  rules:"));
        Plan p = f.plan(big);
        Fixture.golden("capacity-change.txt", PlanText.render(p));
        f.converge(big);
        assertEquals(linkId, f.kernel.linkInfo(UNIT.resolve("link")).orElseThrow().id(), "same link, updated in place");
        assertEquals(128, f.kernel.mapInfo(UNIT.resolve("rules_v4")).orElseThrow().maxEntries());
        assertTrue(f.kernel.pins(Fixture.ROOT).stream().noneMatch(pin -> pin.path().toString().endsWith("_next")));
    }

    /**
     * A replaced map is written whole into its staging copy (its entry diff is against no entries), while its slots come
     * from the live map: slot assignment and the entry diff share a merge only when they compare with the same entries.
     */
    @Test
    void aReplacedMapIsWrittenWholeAndKeepsItsCounterSlots() {
        Snapshot small = snapshot("r1", "p.yaml", policy("edge-filter", "eth0", "xdp",
                "{prefix: 192.0.2.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: drop}")
                .replace("  rules:", "  capacity: 64\n  rules:"));
        f.converge(small);
        Bytes key = TrafficLayout.key(Prefix.parse("198.51.100.0/24"));
        byte[] before = f.kernel.lookup(UNIT.resolve("rules_v4"), key).orElseThrow().toArray();
        Snapshot big = snapshot("r2", "p.yaml", policy("edge-filter", "eth0", "xdp",
                "{prefix: 192.0.2.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: drop}")
                .replace("  rules:", "  capacity: 128\n  rules:"));
        Plan p = f.plan(big);
        Change.PutEntries put = p.units().getFirst().changes().stream()
                .filter(c -> c instanceof Change.PutEntries e && e.pin().getFileName().toString().equals("rules_v4_next"))
                .map(c -> (Change.PutEntries) c).findFirst().orElseThrow();
        assertEquals(2, put.changes().size(), "every entry, into the staging map");
        f.converge(big);
        assertArrayEquals(before, f.kernel.lookup(UNIT.resolve("rules_v4"), key).orElseThrow().toArray(),
                "same slot and generation after the swap");
    }

    @Test
    void driftIsPlannedBack() {
        Snapshot s = edge("r1", "{prefix: 192.0.2.0/24, action: drop}");
        f.converge(s);
        Bytes key = TrafficLayout.key(Prefix.parse("192.0.2.0/24"));
        byte[] v = f.kernel.lookup(UNIT.resolve("rules_v4"), key).orElseThrow().toArray();
        v[20] = 0;   // action: drop -> pass, behind bpfgit's back
        f.kernel.tamper(UNIT.resolve("rules_v4"), key, Bytes.wrap(v));
        Plan p = f.plan(s);
        assertEquals("TrafficPolicy/edge-filter (eth0, xdp)\n  ~ map rules: ~1 (1 -> 1 entries)\n"
                + "      ~ 192.0.2.0/24  drop (was pass)\n"
                + "Plan: 0 to create, 1 to change, 0 to remove; entries +0 ~1 -0.\n", PlanText.render(p));
    }

    private static final String MARK = "{prefix: 10.0.0.0/8, action: mark, mark: 0x10}";

    private static Snapshot steer(String foreignPrograms) {
        String text = policy("steer", "eth1", "tc-ingress", MARK);
        if (foreignPrograms != null) {
            text = text.replace("  rules:", "  foreignPrograms: " + foreignPrograms + "\n  rules:");
        }
        return snapshot("r1", "p.yaml", text);
    }

    @Test
    void aForeignXdpProgramIsAnError() {
        f.kernel.attachForeign(new AttachPoint.Xdp("eth0"), 7, "their_xdp");
        ForeignProgramException e = assertThrows(ForeignProgramException.class,
                () -> f.plan(edge("r1", "{prefix: 192.0.2.0/24, action: drop}")));
        assertTrue(e.getMessage().startsWith("eth0 xdp: program id 7 \"their_xdp\" is attached and was not attached by bpfgit"),
                e.getMessage());
        assertEquals(List.of("TrafficPolicy/edge-filter"), e.policies());
    }

    /** A tcx program, or a legacy cls_bpf filter (both listed at either tc point), refuses the unit by default. */
    @Test
    void aForeignTcProgramIsAnErrorByDefaultNamingHookProgramAndTheWayOut() {
        for (AttachPoint at : List.of(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS),
                new AttachPoint.LegacyTc("eth1", AttachPoint.Direction.INGRESS))) {
            Fixture g = new Fixture();
            g.kernel.attachForeign(at, 8, "their_tc");
            for (String explicit : java.util.Arrays.asList(null, "refuse")) {
                ForeignProgramException e = assertThrows(ForeignProgramException.class, () -> g.plan(steer(explicit)));
                assertEquals("eth1 tcx-ingress: program id 8 \"their_tc\" is attached and was not attached by bpfgit;"
                        + " for TrafficPolicy/steer: it may decide packets before bpfgit's program does, so bpfgit does"
                        + " not attach beside it. Detach it (its tcx link's owner, or tc filter del dev eth1 ingress"
                        + " pref PREF for a legacy filter), remove the interface from the policy, or, if it is meant to"
                        + " run there, set spec.foreignPrograms: coexist in TrafficPolicy/steer.", e.getMessage());
                assertEquals(List.of("TrafficPolicy/steer"), e.policies());
            }
            assertEquals(List.of(), g.kernel.pins(Fixture.ROOT), "nothing applied");
        }
    }

    @Test
    void foreignProgramsCoexistKeepsTheWarningAndAttaches() {
        f.kernel.attachForeign(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS), 8, "their_tc");
        Plan p = f.plan(steer("coexist"));
        assertEquals(1, p.warnings().size());
        assertTrue(p.warnings().getFirst().startsWith("eth1 tcx-ingress: program id 8 \"their_tc\" is attached and"
                + " was not attached by bpfgit; for TrafficPolicy/steer: tcx runs several programs"), p.warnings().getFirst());
        f.converge(steer("coexist"));
        assertTrue(f.plan(steer("coexist")).warnings().isEmpty(), "attached beside it: no warning at every plan");
    }

    /** Every policy at a shared hook must say coexist; the error names those that do not. */
    @Test
    void aSharedHookCoexistsOnlyWhenEveryPolicyThereSaysSo() {
        f.kernel.attachForeign(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS), 8, "their_tc");
        Snapshot s = snapshot("r1", "a.yaml", policy("a", "eth1", "tc-ingress", MARK)
                        .replace("  rules:", "  foreignPrograms: coexist\n  rules:"),
                "b.yaml", policy("b", "eth1", "tc-ingress", "{prefix: 10.1.0.0/16, action: drop}"));
        ForeignProgramException e = assertThrows(ForeignProgramException.class, () -> f.plan(s));
        assertTrue(e.getMessage().endsWith("set spec.foreignPrograms: coexist in TrafficPolicy/b."), e.getMessage());
        assertEquals(List.of("TrafficPolicy/a", "TrafficPolicy/b"), e.policies());
    }

    /** A foreign program that comes after bpfgit attached is refused too (bpfgit's own link is left alone). */
    @Test
    void aForeignTcProgramThatCameLaterIsRefusedAndOursIsNeverForeign() {
        f.converge(steer(null));
        f.kernel.attachForeign(new AttachPoint.LegacyTc("eth1", AttachPoint.Direction.INGRESS), 9, "later");
        ForeignProgramException e = assertThrows(ForeignProgramException.class, () -> f.plan(steer(null)));
        assertTrue(e.getMessage().startsWith("eth1 tcx-ingress: program id 9 \"later\""), e.getMessage());
        assertTrue(f.plan(steer("coexist")).inSync(), "coexisting: nothing to change");
    }

    /**
     * For the sidecar: the refused unit is left as it was and its policy recorded failed with the reason; the
     * rest of the revision is planned and applied.
     */
    @Test
    void diffAroundLeavesTheRefusedUnitAsItIsAndPlansTheRest() {
        f.converge(steer(null));
        Path tc = Fixture.ROOT.resolve("traffic/eth1/tc-ingress");
        List<String> before = pins();
        var entries = f.kernel.entries(tc.resolve("rules_v4"));
        f.kernel.attachForeign(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS), 9, "later");
        Snapshot both = snapshot("r2", "p.yaml", policy("steer", "eth1", "tc-ingress",
                        "{prefix: 10.0.0.0/8, action: mark, mark: 0x20}"),
                "policies/edge.yaml", policy("edge-filter", "eth0", "xdp", "{prefix: 192.0.2.0/24, action: drop}"));
        dev.bpfgit.compile.DesiredState d = f.desired(both);
        Differ.Around a = Differ.diffAround(dev.bpfgit.kind.Kinds.BUILT_IN, d, f.live(d));
        assertEquals(1, a.refused().size());
        assertEquals(List.of("TrafficPolicy/steer"), a.refused().getFirst().policies());
        assertEquals(List.of("eth0, xdp"), a.plan().units().stream().map(UnitPlan::label).toList(),
                "only the other unit is planned: nothing removed, nothing changed at eth1");
        f.apply(a.plan());
        Meta meta = f.live(d).meta();
        assertEquals(Optional.of(Meta.fit(a.refused().getFirst().getMessage())),
                meta.get(Meta.FAILED + "TrafficPolicy/steer"));
        assertTrue(meta.get(Meta.FAILED + "TrafficPolicy/edge-filter").isEmpty());
        assertTrue(pins().containsAll(before), "the last good state stays: " + pins());
        assertEquals(entries, f.kernel.entries(tc.resolve("rules_v4")), "the refused unit's entries are the old ones");
        assertEquals(1, f.kernel.entries(UNIT.resolve("rules_v4")).size(), "the other unit is applied");
        // the foreign program gone, the next round applies the unit and clears the failure
        f.kernel.detachForeign(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS), 9);
        Differ.Around next = Differ.diffAround(dev.bpfgit.kind.Kinds.BUILT_IN, d, f.live(d));
        assertEquals(List.of(), next.refused());
        f.apply(next.plan());
        assertTrue(f.live(d).meta().get(Meta.FAILED + "TrafficPolicy/steer").isEmpty());
        assertTrue(f.plan(both).inSync());
    }

    private List<String> pins() {
        return f.kernel.pins(Fixture.ROOT).stream().map(p -> p.path().toString()).sorted().toList();
    }

    /** A legacy tc filter of another classifier (id 0: no BPF program) is reported by its kind and pref, never refused. */
    @Test
    void aForeignNonBpfTcFilterIsAWarningNamingItsKind() {
        f.kernel.attachForeign(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS), 0,
                "tc u32 filter (legacy tc, pref 30)");
        Plan p = f.plan(steer(null));
        assertEquals(1, p.warnings().size(), p.warnings().toString());
        assertTrue(p.warnings().getFirst().startsWith("eth1 tcx-ingress: tc u32 filter (legacy tc, pref 30) is attached"
                + " and was not attached by bpfgit; for TrafficPolicy/steer: it is no BPF program"), p.warnings().getFirst());
    }

    @Test
    void anApplyInterruptedAfterAnyStepConverges() {
        Snapshot s = edge("r1", "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 2001:db8:bad::/48, action: drop}");
        int steps = f.plan(s).units().getFirst().changes().size();
        for (int stop = 0; stop < steps; stop++) {
            Fixture g = new Fixture();
            Plan p = g.plan(s);
            List<Change> first = p.units().getFirst().changes().subList(0, stop);
            g.apply(new Plan(p.root(), p.revision(), p.basis(),
                    List.of(new UnitPlan(UNIT, "TrafficPolicy", "eth0, xdp", List.of(), first)), Map.of(), List.of(),
                    List.of()));
            g.converge(s);
            assertEquals(1, g.kernel.entries(UNIT.resolve("rules_v4")).size(), "stopped after step " + stop);
        }
    }

    @Test
    void aFailedStepIsRecordedForItsPoliciesAndClearedByTheNextGoodApply() {
        Snapshot s = edge("r1", "{prefix: 192.0.2.0/24, action: drop}");
        f.converge(s);
        f.kernel.unpin(UNIT.resolve("link"));
        f.kernel.createMap(UNIT.resolve("link"), dev.bpfgit.observe.Meta.spec());   // something squats the pin
        dev.bpfgit.apply.ApplyException e = assertThrows(dev.bpfgit.apply.ApplyException.class, () -> f.apply(f.plan(s)));
        assertEquals("apply TrafficPolicy/edge-filter (eth0, xdp): pin link " + UNIT.resolve("link")
                + ": EEXIST (File exists)", e.getMessage());
        assertEquals(java.util.Optional.of(e.getCause().getMessage()),
                f.live(f.desired(s)).meta().get(Meta.FAILED + "TrafficPolicy/edge-filter"));
        f.kernel.unpin(UNIT.resolve("link"));
        f.converge(s);
        assertEquals(java.util.Optional.empty(), f.live(f.desired(s)).meta().get(Meta.FAILED + "TrafficPolicy/edge-filter"));
    }

    @Test
    void destroyRemovesEverythingBookkeepingLast() {
        f.converge(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"));
        Plan p = Differ.destroy(f.live(f.desired(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"))));
        Fixture.golden("destroy.txt", PlanText.render(p));
        f.apply(p);
        assertEquals(List.of(), f.kernel.pins(Fixture.ROOT));
        assertThrows(KernelException.NotFound.class, () -> f.kernel.entries(Meta.pin(Fixture.ROOT)));
    }

    @Test
    void jsonRoundTripsAndAppliesTheSame() {
        Plan p = f.plan(edge("r1", "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: redirect, to: eth1}"));
        String json = PlanJson.render(p);
        Plan back = PlanJson.parse(json);
        assertEquals(json, PlanJson.render(back));
        assertEquals(PlanText.render(p), PlanText.render(back));
        f.apply(back);
        assertTrue(f.plan(edge("r1", "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: redirect, to: eth1}")).inSync());
    }

    @Test
    void markdownShowsTheDiffInAFencedBlock() {
        f.converge(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"));
        Fixture.golden("plan.md", PlanMarkdown.render(f.plan(edge("r2", "{prefix: 192.0.2.0/24, action: pass}",
                "{prefix: 198.51.100.0/24, action: drop}"))));
    }

    private long slot(String prefix) {
        Bytes v = f.kernel.lookup(UNIT.resolve(prefix.contains(":") ? "rules_v6" : "rules_v4"),
                TrafficLayout.key(Prefix.parse(prefix))).orElseThrow();
        return Le.u32(v.toArray(), 0);
    }
}
