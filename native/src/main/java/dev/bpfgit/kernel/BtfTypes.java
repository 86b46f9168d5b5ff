package dev.bpfgit.kernel;

/** The BTF of an object file and the names of the key and value types in it (structs, typedefs or ints). */
public record BtfTypes(ObjectFile object, String keyType, String valueType) {
}
