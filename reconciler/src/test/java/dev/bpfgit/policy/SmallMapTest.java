package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link SmallMap} behaves as a LinkedHashMap, below and above its {@link SmallMap#MAX} keys, under every operation. */
class SmallMapTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    @Test
    void randomOperationsAsOnALinkedHashMap() {
        Random r = new Random(2811);
        int spilled = 0;
        for (int round = 0; round < 3000; round++) {
            SmallMap small = new SmallMap();
            Map<String, JsonNode> reference = new LinkedHashMap<>();
            int keys = 1 + r.nextInt(r.nextBoolean() ? 6 : 20);
            for (int op = 0; op < 60; op++) {
                // a key equal to, but not the same string as, the one stored
                String key = new String("k" + r.nextInt(keys));
                JsonNode value = JSON.numberNode(r.nextInt(5));
                switch (r.nextInt(10)) {
                    case 0, 1, 2, 3 -> assertEquals(reference.put(key, value), small.put(key, value));
                    case 4 -> assertEquals(reference.remove(key), small.remove(key));
                    case 5 -> {
                        assertEquals(reference.get(key), small.get(key));
                        assertEquals(reference.containsKey(key), small.containsKey(key));
                    }
                    case 6 -> {   // remove through the iterators, every other entry
                        Iterator<Map.Entry<String, JsonNode>> a = reference.entrySet().iterator();
                        Iterator<Map.Entry<String, JsonNode>> b = small.entrySet().iterator();
                        for (int i = 0; a.hasNext(); i++) {
                            assertTrue(b.hasNext());
                            assertEquals(a.next(), b.next());
                            if (i % 2 == 1 && r.nextBoolean()) {
                                a.remove();
                                b.remove();
                            }
                        }
                        assertEquals(false, b.hasNext());
                    }
                    case 7 -> {   // setValue writes through
                        for (Map.Entry<String, JsonNode> e : small.entrySet()) {
                            if (e.getKey().equals(key)) {
                                e.setValue(value);
                                reference.put(key, value);
                            }
                        }
                    }
                    case 8 -> {
                        Map<String, JsonNode> more = new LinkedHashMap<>();
                        more.put(key, value);
                        more.put("x" + r.nextInt(3), value);
                        reference.putAll(more);
                        small.putAll(more);
                    }
                    default -> {
                        if (r.nextInt(20) == 0) {
                            reference.clear();
                            small.clear();
                        }
                    }
                }
                same(reference, small);
            }
            spilled += small.size() > SmallMap.MAX ? 1 : 0;
        }
        assertTrue(spilled > 100, spilled + " maps above " + SmallMap.MAX + " keys");
    }

    private static void same(Map<String, JsonNode> reference, SmallMap small) {
        assertEquals(reference.size(), small.size());
        assertEquals(reference.isEmpty(), small.isEmpty());
        assertEquals(new ArrayList<>(reference.keySet()), new ArrayList<>(small.keySet()));
        assertEquals(new ArrayList<>(reference.values()), new ArrayList<>(small.values()));
        assertEquals(new ArrayList<>(reference.entrySet()), new ArrayList<>(small.entrySet()));
        List<String> walked = new ArrayList<>();
        small.forEach((k, v) -> walked.add(k + "=" + v));
        List<String> expected = new ArrayList<>();
        reference.forEach((k, v) -> expected.add(k + "=" + v));
        assertEquals(expected, walked);
        assertEquals(reference, small);
        assertEquals(small, reference);
        assertEquals(reference.hashCode(), small.hashCode());
        assertEquals(reference.toString(), small.toString());
    }

    @Test
    void anObjectNodeOverItIsTheObjectNodeOverALinkedHashMap() {
        ObjectNode a = new ObjectNode(JSON, new SmallMap());
        ObjectNode b = JSON.objectNode();
        for (ObjectNode o : new ObjectNode[]{a, b}) {
            o.put("prefix", "10.0.0.0/8").put("action", "drop");
            o.put("action", "pass");
            o.set("list", JSON.arrayNode().add(1));
            o.remove("prefix");
            o.put("prefix", "10.0.0.0/8");
        }
        assertEquals(b, a);
        assertEquals(a, b);
        assertEquals(b.toString(), a.toString());
        assertEquals(b.deepCopy(), a.deepCopy());
        assertEquals(List.of("action", "list", "prefix"), new ArrayList<>(a.propertyNames()));
    }

    @Test
    void anIteratorRemovesOnlyAfterNext() {
        SmallMap m = new SmallMap();
        m.put("a", JSON.nullNode());
        Iterator<Map.Entry<String, JsonNode>> it = m.entrySet().iterator();
        assertThrows(IllegalStateException.class, it::remove);
        it.next();
        it.remove();
        assertThrows(IllegalStateException.class, it::remove);
        assertThrows(java.util.NoSuchElementException.class, it::next);
        assertEquals(0, m.size());
    }
}
