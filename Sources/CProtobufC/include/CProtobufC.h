// The protobuf-c runtime (Debian libprotobuf-c-dev), wrapped for Swift, and a bump
// arena that serves as protobuf-c's allocator for one encode or decode.
#ifndef C_O2O_PROTOBUF_C_H
#define C_O2O_PROTOBUF_C_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/// A bump allocator: memory comes from a caller-provided first block (usually on the
/// stack), then from malloc'ed chunks that o2o_arena_destroy frees all at once.
/// Freeing single allocations is a no-op, so protobuf_c_message_free_unpacked with
/// this allocator only walks the message. Not thread-safe: one arena per operation.
typedef struct O2OArena {
    /// Passed to protobuf-c; its allocator_data points at this arena.
    ProtobufCAllocator allocator;
    /// Next free byte of the current block.
    uint8_t *cursor;
    /// One past the last byte of the current block.
    uint8_t *limit;
    /// Singly linked list of malloc'ed chunks (each starts with the link).
    void *chunks;
    /// Bytes handed out so far, including alignment padding.
    size_t used;
    /// Hard cap on total bytes; an allocation beyond it fails (returns NULL).
    size_t capacity_limit;
    /// Set once an allocation failed, so callers can tell "out of memory budget" from
    /// "malformed input" when protobuf-c returns NULL.
    int exhausted;
} O2OArena;

/// Prepares an arena whose first block is `initial` (may be NULL with size 0).
/// `capacity_limit` bounds all allocations together (0 means 1 GiB).
void o2o_arena_init(O2OArena *arena, void *initial, size_t initial_size, size_t capacity_limit);

/// Places an arena at the start of `block` and uses the rest of the block as its first
/// chunk. Returns NULL when the block is too small to hold the arena itself.
O2OArena *o2o_arena_create_in(void *block, size_t block_size, size_t capacity_limit);

/// Allocates `size` bytes aligned to 16; NULL when the cap or malloc says no.
void *o2o_arena_alloc(O2OArena *arena, size_t size);

/// Copies `length` bytes and a terminating NUL; NULL on failure.
char *o2o_arena_strndup(O2OArena *arena, const void *bytes, size_t length);

/// Frees every chunk the arena malloc'ed. The arena may be reused after o2o_arena_init.
void o2o_arena_destroy(O2OArena *arena);

/// The allocator to hand to protobuf_c_message_unpack.
static inline ProtobufCAllocator *o2o_arena_allocator(O2OArena *arena) {
    return &arena->allocator;
}

/// protobuf_c_message_unpack through the arena, with the message's descriptor.
static inline ProtobufCMessage *o2o_unpack(const ProtobufCMessageDescriptor *descriptor, O2OArena *arena,
                                           size_t length, const uint8_t *data) {
    return protobuf_c_message_unpack(descriptor, &arena->allocator, length, data);
}

/// protobuf_c_message_free_unpacked through the arena (frees are no-ops; this walks).
static inline void o2o_free_unpacked(ProtobufCMessage *message, O2OArena *arena) {
    protobuf_c_message_free_unpacked(message, &arena->allocator);
}

#endif
