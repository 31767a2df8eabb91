/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

static size_t slot_of(uint64_t key, size_t cap)
{
        /* Fibonacci hashing spreads sequential keys. */
        return (size_t)((key * 11400714819323198485ull) >> 7) & (cap - 1);
}

void *hmap_get(const struct hmap *m, uint64_t key)
{
        if (m->cap == 0 || key == 0)
                return NULL;
        for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
                if (m->e[i].key == key)
                        return m->e[i].value;
                if (m->e[i].key == 0)
                        return NULL;
        }
}

static int grow(struct hmap *m)
{
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct hmap_entry *e = calloc(cap, sizeof(*e)), *old = m->e;
        size_t oldcap = m->cap;

        if (!e)
                return -ENOMEM;
        m->e = e;
        m->cap = cap;
        m->n = 0;
        for (size_t i = 0; i < oldcap; i++)
                if (old[i].key)
                        (void)hmap_put(m, old[i].key, old[i].value);
        free(old);
        return 0;
}

int hmap_put(struct hmap *m, uint64_t key, void *value)
{
        if (key == 0)
                return -EINVAL;
        if ((m->n + 1) * 4 > m->cap * 3) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
                if (m->e[i].key == key) {
                        m->e[i].value = value;
                        return 0;
                }
                if (m->e[i].key == 0) {
                        m->e[i] = (struct hmap_entry){key, value};
                        m->n++;
                        return 0;
                }
        }
}

void *hmap_remove(struct hmap *m, uint64_t key)
{
        size_t i, j, mask;
        void *v;

        if (m->cap == 0 || key == 0)
                return NULL;
        mask = m->cap - 1;
        for (i = slot_of(key, m->cap);; i = (i + 1) & mask) {
                if (m->e[i].key == 0)
                        return NULL;
                if (m->e[i].key == key)
                        break;
        }
        v = m->e[i].value;
        /* Backward-shift: move later entries of the cluster into the hole. */
        for (j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
                size_t home = slot_of(m->e[j].key, m->cap);
                /* Can e[j] move to i? Only if its home is not in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                        m->e[i] = m->e[j];
                        i = j;
                }
        }
        m->e[i] = (struct hmap_entry){0, NULL};
        m->n--;
        return v;
}

size_t hmap_remove_if(struct hmap *m, int (*pred)(void *value, const void *userdata),
                      void (*done)(void *value, const void *userdata), const void *userdata)
{
        size_t n = 0, i = 0;

        /* A removal shifts later entries back into the hole: look at slot i again. */
        while (i < m->cap) {
                void *v;
                if (!m->e[i].key || !pred(m->e[i].value, userdata)) {
                        i++;
                        continue;
                }
                v = hmap_remove(m, m->e[i].key);
                if (done)
                        done(v, userdata);
                n++;
        }
        return n;
}

void hmap_done(struct hmap *m)
{
        free(m->e);
        *m = (struct hmap){};
}

int hmap_next(const struct hmap *m, size_t *i, uint64_t *ret_key, void **ret_value)
{
        for (; *i < m->cap; (*i)++)
                if (m->e[*i].key) {
                        if (ret_key)
                                *ret_key = m->e[*i].key;
                        if (ret_value)
                                *ret_value = m->e[*i].value;
                        (*i)++;
                        return 1;
                }
        return 0;
}

uint64_t hash_bytes(const void *p, size_t n)
{
        const unsigned char *s = p;
        uint64_t h = 14695981039346656037ull;
        for (size_t i = 0; i < n; i++) {
                h ^= s[i];
                h *= 1099511628211ull;
        }
        return h ? h : 1;
}

uint64_t hash_string(const char *s)
{
        return hash_bytes(s, strlen(s));
}
