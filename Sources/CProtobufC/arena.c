#include "CProtobufC.h"

#include <stdlib.h>
#include <string.h>

enum { O2O_ARENA_ALIGNMENT = 16, O2O_ARENA_MIN_CHUNK = 16384 };

static size_t o2o_align_up(size_t value) {
    return (value + (O2O_ARENA_ALIGNMENT - 1)) & ~(size_t)(O2O_ARENA_ALIGNMENT - 1);
}

static void *o2o_arena_protobuf_alloc(void *data, size_t size) {
    return o2o_arena_alloc((O2OArena *)data, size);
}

static void o2o_arena_protobuf_free(void *data, void *pointer) {
    // Everything is released together by o2o_arena_destroy.
    (void)data;
    (void)pointer;
}

void o2o_arena_init(O2OArena *arena, void *initial, size_t initial_size, size_t capacity_limit) {
    arena->allocator.alloc = o2o_arena_protobuf_alloc;
    arena->allocator.free = o2o_arena_protobuf_free;
    arena->allocator.allocator_data = arena;
    uintptr_t start = (uintptr_t)initial;
    uintptr_t aligned = (start + (O2O_ARENA_ALIGNMENT - 1)) & ~(uintptr_t)(O2O_ARENA_ALIGNMENT - 1);
    if (initial == NULL || aligned >= start + initial_size) {
        arena->cursor = NULL;
        arena->limit = NULL;
    } else {
        arena->cursor = (uint8_t *)aligned;
        arena->limit = (uint8_t *)(start + initial_size);
    }
    arena->chunks = NULL;
    arena->used = 0;
    arena->exhausted = 0;
    arena->capacity_limit = capacity_limit == 0 ? ((size_t)1 << 30) : capacity_limit;
}

O2OArena *o2o_arena_create_in(void *block, size_t block_size, size_t capacity_limit) {
    size_t header = o2o_align_up(sizeof(O2OArena));
    uintptr_t start = (uintptr_t)block;
    uintptr_t aligned = (start + (O2O_ARENA_ALIGNMENT - 1)) & ~(uintptr_t)(O2O_ARENA_ALIGNMENT - 1);
    if (block == NULL || aligned + header > start + block_size) {
        return NULL;
    }
    O2OArena *arena = (O2OArena *)aligned;
    o2o_arena_init(arena, (void *)(aligned + header), start + block_size - (aligned + header), capacity_limit);
    return arena;
}

void *o2o_arena_alloc(O2OArena *arena, size_t size) {
    size_t rounded = o2o_align_up(size == 0 ? 1 : size);
    if (rounded < size || arena->used + rounded > arena->capacity_limit) {
        arena->exhausted = 1;
        return NULL;
    }
    if (arena->cursor == NULL || (size_t)(arena->limit - arena->cursor) < rounded) {
        size_t header = o2o_align_up(sizeof(void *));
        size_t chunk_size = rounded + header;
        if (chunk_size < O2O_ARENA_MIN_CHUNK) {
            chunk_size = O2O_ARENA_MIN_CHUNK;
        }
        uint8_t *chunk = malloc(chunk_size);
        if (chunk == NULL) {
            arena->exhausted = 1;
            return NULL;
        }
        *(void **)chunk = arena->chunks;
        arena->chunks = chunk;
        arena->cursor = chunk + header;
        arena->limit = chunk + chunk_size;
    }
    void *result = arena->cursor;
    arena->cursor += rounded;
    arena->used += rounded;
    return result;
}

char *o2o_arena_strndup(O2OArena *arena, const void *bytes, size_t length) {
    char *copy = o2o_arena_alloc(arena, length + 1);
    if (copy == NULL) {
        return NULL;
    }
    if (length > 0) {
        memcpy(copy, bytes, length);
    }
    copy[length] = '\0';
    return copy;
}

void o2o_arena_destroy(O2OArena *arena) {
    void *chunk = arena->chunks;
    while (chunk != NULL) {
        void *next = *(void **)chunk;
        free(chunk);
        chunk = next;
    }
    arena->chunks = NULL;
    arena->cursor = NULL;
    arena->limit = NULL;
    arena->used = 0;
}
