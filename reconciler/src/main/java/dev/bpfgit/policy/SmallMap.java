package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The properties of a YAML mapping read into a Jackson {@code ObjectNode} ({@link YamlToJson}), in insertion order,
 * as a {@link LinkedHashMap} keeps them: up to {@value #MAX} in one array of keys and values, more in a
 * LinkedHashMap it then becomes (so that a mapping of many keys is not searched key by key).
 *
 * <p>For memory: a rule of a 100,000-rule policy is a mapping of two or three keys, and a LinkedHashMap of them (the
 * map, its table and an entry per key) was about 170 bytes, this about 80; every byte a cold parse allocates is a
 * new page of the young generation (bench/README.md, "main17"). Entries are made when iterated, each a copy whose
 * {@code setValue} writes through.
 */
final class SmallMap extends AbstractMap<String, JsonNode> {
    static final int MAX = 8;

    /** Key, value, key, value...: {@code size} pairs. Null once the map is {@link #big}. */
    private Object[] pairs = new Object[8];
    private int size;
    private LinkedHashMap<String, JsonNode> big;

    private int find(Object key) {
        for (int i = 0; i < size; i++) {
            Object k = pairs[2 * i];
            if (k == key || k != null && k.equals(key)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public int size() {
        return big != null ? big.size() : size;
    }

    @Override
    public boolean isEmpty() {
        return size() == 0;
    }

    @Override
    public boolean containsKey(Object key) {
        return big != null ? big.containsKey(key) : find(key) >= 0;
    }

    @Override
    public JsonNode get(Object key) {
        if (big != null) {
            return big.get(key);
        }
        int i = find(key);
        return i < 0 ? null : (JsonNode) pairs[2 * i + 1];
    }

    @Override
    public JsonNode put(String key, JsonNode value) {
        if (big != null) {
            return big.put(key, value);
        }
        int i = find(key);
        if (i >= 0) {
            JsonNode old = (JsonNode) pairs[2 * i + 1];
            pairs[2 * i + 1] = value;
            return old;
        }
        if (size == MAX) {
            big = new LinkedHashMap<>(2 * MAX + 2);
            for (int j = 0; j < size; j++) {
                big.put((String) pairs[2 * j], (JsonNode) pairs[2 * j + 1]);
            }
            pairs = null;
            size = 0;
            return big.put(key, value);
        }
        if (2 * size == pairs.length) {
            pairs = Arrays.copyOf(pairs, pairs.length * 2);
        }
        pairs[2 * size] = key;
        pairs[2 * size + 1] = value;
        size++;
        return null;
    }

    @Override
    public JsonNode remove(Object key) {
        if (big != null) {
            return big.remove(key);
        }
        int i = find(key);
        if (i < 0) {
            return null;
        }
        JsonNode old = (JsonNode) pairs[2 * i + 1];
        removeAt(i);
        return old;
    }

    private void removeAt(int i) {
        System.arraycopy(pairs, 2 * i + 2, pairs, 2 * i, 2 * (size - i - 1));
        size--;
        pairs[2 * size] = null;
        pairs[2 * size + 1] = null;
    }

    @Override
    public void clear() {
        big = null;
        pairs = new Object[8];
        size = 0;
    }

    /** Without an iterator or an entry: what the policy digest walks ({@link CanonicalDigest}). */
    @Override
    public void forEach(BiConsumer<? super String, ? super JsonNode> action) {
        if (big != null) {
            big.forEach(action);
            return;
        }
        for (int i = 0; i < size; i++) {
            action.accept((String) pairs[2 * i], (JsonNode) pairs[2 * i + 1]);
        }
    }

    @Override
    public Set<Map.Entry<String, JsonNode>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public int size() {
                return SmallMap.this.size();
            }

            @Override
            public Iterator<Map.Entry<String, JsonNode>> iterator() {
                return big != null ? big.entrySet().iterator() : new Pairs();
            }
        };
    }

    private final class Pairs implements Iterator<Map.Entry<String, JsonNode>> {
        private int next;
        private int last = -1;

        @Override
        public boolean hasNext() {
            return next < size;
        }

        @Override
        public Map.Entry<String, JsonNode> next() {
            if (next >= size) {
                throw new NoSuchElementException();
            }
            last = next++;
            return new Pair((String) pairs[2 * last], (JsonNode) pairs[2 * last + 1]);
        }

        @Override
        public void remove() {
            if (last < 0) {
                throw new IllegalStateException();
            }
            removeAt(last);
            next = last;
            last = -1;
        }
    }

    private final class Pair extends AbstractMap.SimpleEntry<String, JsonNode> {
        Pair(String key, JsonNode value) {
            super(key, value);
        }

        @Override
        public JsonNode setValue(JsonNode value) {
            if (containsKey(getKey())) {   // as a LinkedHashMap's entry: a removed one changes nothing
                put(getKey(), value);
            }
            return super.setValue(value);
        }
    }
}
