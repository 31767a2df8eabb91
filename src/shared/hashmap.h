/* SPDX-License-Identifier: MIT */
/*
 * Open-addressing hash map from a non-zero 64-bit key to a pointer, with
 * backward-shift deletion (no tombstones). String keys go through
 * hash_string(); callers that use it keep the string in the value and
 * compare it after a lookup.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
        uint64_t key; /* 0 = empty */
        void *value;
};

struct hmap {
        struct hmap_entry *e;
        size_t cap; /* power of two, or 0 */
        size_t n;
};

void *hmap_get(const struct hmap *m, uint64_t key);
/* Inserts or replaces; returns 0 or -ENOMEM. key must not be 0. */
int hmap_put(struct hmap *m, uint64_t key, void *value);
/* Removes and returns the value, or NULL. */
void *hmap_remove(struct hmap *m, uint64_t key);
void hmap_done(struct hmap *m);

/* Removes every entry pred() holds true for, handing each to done() (which must not touch
 * m); returns how many. */
size_t hmap_remove_if(struct hmap *m, int (*pred)(void *value, const void *userdata),
                      void (*done)(void *value, const void *userdata), const void *userdata);

/* Iterate: for (size_t i = 0; hmap_next(m, &i, &k, &v); ) ... (no insertions meanwhile). */
int hmap_next(const struct hmap *m, size_t *i, uint64_t *ret_key, void **ret_value);

/* FNV-1a 64, never 0. */
uint64_t hash_string(const char *s);
uint64_t hash_bytes(const void *p, size_t n);
