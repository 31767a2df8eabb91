/* SPDX-License-Identifier: MIT */
/*
 * Turn-taking on one upstream session. A server that asks clients things
 * (sampling, elicitation, forwarded roots) over a session several client
 * sessions use gives no clue which of them a question is for, except that
 * only one of them has requests in flight. Requests of different parties
 * then take turns: a party may send while nobody else is in flight and
 * nobody waits before it; otherwise its request waits, first come first
 * served, bounded by the queue's cap and its own timeout (the caller's).
 *
 * Pure bookkeeping, no loop, no I/O: the owner calls turns_begin/end as
 * requests leave and finish, and asks turns_next() whom to send next.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TURNS_PARTY_MAX 65

struct turn {
        char party[TURNS_PARTY_MAX]; /* "" : nobody in particular (never blocks anyone) */
        struct turn *next;
};

struct turns {
        bool enabled; /* off: everyone may always go, nothing ever waits */
        /* who is in flight: one party and how many of its requests (several parties only
         * when turn-taking was switched on while they were) */
        struct turns_flight {
                char party[TURNS_PARTY_MAX];
                unsigned n;
        } * flight;
        size_t n_flight;
        size_t in_flight;     /* requests in flight, all parties */
        size_t max_in_flight; /* 0: no cap; else requests beyond it wait (maxConcurrency) */
        struct turn *head, *tail;
        size_t len, max;
        size_t max_per_party; /* waiting at once for one party: no one fills the queue alone */
        unsigned long waits; /* requests that had to wait for their turn, ever (the owner counts) */
};

/* max waiting in all; one party may have max / 8 (at least 1) of them. */
void turns_init(struct turns *t, size_t max);
/* Frees the in-flight table; waiting turns belong to their owners (see turns_pop). */
void turns_done(struct turns *t);

/* May a request of party go now: below the cap on requests in flight (with nobody waiting
 * before it), and with turn-taking off, or no one else in flight and no one waiting? */
bool turns_may_go(const struct turns *t, const char *party);
/* Queue w (its party set by the caller) at the tail. -ENOBUFS when full, or, while
 * turns are taken, when its party has its share waiting already. */
int turns_wait(struct turns *t, struct turn *w);
/* Take w out of the queue wherever it is (timeout, cancel). Returns whether it was there. */
bool turns_remove(struct turns *t, struct turn *w);
/* The head of the queue if its turn has come (taken out), else NULL. */
struct turn *turns_next(struct turns *t);
/* Pops the head whatever its turn (to fail everyone waiting). */
struct turn *turns_pop(struct turns *t);

/* A request of party left / finished. -ENOMEM if the table cannot grow. */
int turns_begin(struct turns *t, const char *party);
void turns_end(struct turns *t, const char *party);
/* How many distinct parties are in flight; *ret_party gets the one when there is one. */
size_t turns_in_flight(const struct turns *t, const char **ret_party);
