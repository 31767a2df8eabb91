/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upstream/turns.h"

void turns_init(struct turns *t, size_t max)
{
        *t = (struct turns){.max = max, .max_per_party = max / 8 ? max / 8 : 1};
}

void turns_done(struct turns *t)
{
        free(t->flight);
        t->flight = NULL;
        t->n_flight = 0;
        t->head = t->tail = NULL;
        t->len = 0;
}

static struct turns_flight *flight_find(const struct turns *t, const char *party)
{
        for (size_t i = 0; i < t->n_flight; i++)
                if (strcmp(t->flight[i].party, party) == 0)
                        return &t->flight[i];
        return NULL;
}

/* Is a party other than this one in flight? Nobody's requests ("") never count, and
 * nobody's never wait. */
static bool others_in_flight(const struct turns *t, const char *party)
{
        if (!party || !*party)
                return false;
        for (size_t i = 0; i < t->n_flight; i++)
                if (t->flight[i].party[0] && strcmp(t->flight[i].party, party) != 0)
                        return true;
        return false;
}

/* The cap on requests in flight lets one more go. */
static bool below_cap(const struct turns *t)
{
        return !t->max_in_flight || t->in_flight < t->max_in_flight;
}

bool turns_may_go(const struct turns *t, const char *party)
{
        if (t->max_in_flight && (t->head || !below_cap(t)))
                return false;
        if (!t->enabled)
                return true;
        return !t->head && !others_in_flight(t, party);
}

int turns_wait(struct turns *t, struct turn *w)
{
        size_t mine = 0;

        if (t->len >= t->max)
                return -ENOBUFS;
        for (struct turn *q = t->head; t->enabled && w->party[0] && q; q = q->next)
                if (strcmp(q->party, w->party) == 0 && ++mine >= t->max_per_party)
                        return -ENOBUFS;
        w->next = NULL;
        if (t->tail)
                t->tail->next = w;
        else
                t->head = w;
        t->tail = w;
        t->len++;
        return 0;
}

bool turns_remove(struct turns *t, struct turn *w)
{
        struct turn *prev = NULL;

        for (struct turn *q = t->head; q; prev = q, q = q->next)
                if (q == w) {
                        if (prev)
                                prev->next = w->next;
                        else
                                t->head = w->next;
                        if (t->tail == w)
                                t->tail = prev;
                        t->len--;
                        w->next = NULL;
                        return true;
                }
        return false;
}

struct turn *turns_pop(struct turns *t)
{
        struct turn *w = t->head;

        if (w)
                (void)turns_remove(t, w);
        return w;
}

struct turn *turns_next(struct turns *t)
{
        struct turn *w = t->head;

        /* The head is first in line: only those in flight can hold it back. */
        if (!w || !below_cap(t) || (t->enabled && others_in_flight(t, w->party)))
                return NULL;
        return turns_pop(t);
}

int turns_begin(struct turns *t, const char *party)
{
        struct turns_flight *f;

        if (!party)
                party = "";
        f = flight_find(t, party);
        if (!f) {
                struct turns_flight *n = realloc(t->flight, (t->n_flight + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                t->flight = n;
                f = &n[t->n_flight++];
                *f = (struct turns_flight){};
                snprintf(f->party, sizeof(f->party), "%s", party);
        }
        f->n++;
        t->in_flight++;
        return 0;
}

void turns_end(struct turns *t, const char *party)
{
        struct turns_flight *f = flight_find(t, party ? party : "");

        if (!f)
                return;
        if (t->in_flight > 0)
                t->in_flight--;
        if (--f->n > 0)
                return;
        *f = t->flight[--t->n_flight];
}

size_t turns_in_flight(const struct turns *t, const char **ret_party)
{
        size_t n = 0;

        if (ret_party)
                *ret_party = NULL;
        for (size_t i = 0; i < t->n_flight; i++) {
                if (!t->flight[i].party[0])
                        continue;
                if (ret_party && !n)
                        *ret_party = t->flight[i].party;
                n++;
        }
        if (n != 1 && ret_party)
                *ret_party = NULL;
        return n;
}
