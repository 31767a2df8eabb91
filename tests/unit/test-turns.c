/* SPDX-License-Identifier: MIT */
/* turns: turn-taking of parties on one upstream session (src/upstream/turns.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "upstream/turns.h"

static struct turn *mk(struct turn *w, const char *party)
{
        memset(w, 0, sizeof(*w));
        snprintf(w->party, sizeof(w->party), "%s", party);
        return w;
}

TEST(off_everyone_goes)
{
        struct turns t;

        turns_init(&t, 4);
        ASSERT_OK(turns_begin(&t, "a"));
        ASSERT_TRUE(turns_may_go(&t, "b"));
        ASSERT_TRUE(turns_may_go(&t, "a"));
        turns_done(&t);
}

TEST(on_other_party_waits_same_party_goes)
{
        struct turns t;

        turns_init(&t, 4);
        t.enabled = true;
        ASSERT_TRUE(turns_may_go(&t, "a"));
        ASSERT_OK(turns_begin(&t, "a"));
        ASSERT_OK(turns_begin(&t, "a"));
        ASSERT_TRUE(turns_may_go(&t, "a"));
        ASSERT_FALSE(turns_may_go(&t, "b"));
        /* nobody's requests never block and are never blocked */
        ASSERT_TRUE(turns_may_go(&t, ""));
        turns_end(&t, "a");
        ASSERT_FALSE(turns_may_go(&t, "b"));
        turns_end(&t, "a");
        ASSERT_TRUE(turns_may_go(&t, "b"));
        turns_done(&t);
}

TEST(queue_is_fifo_and_waits_for_flight)
{
        struct turns t;
        struct turn b1, c1, a2;

        turns_init(&t, 8);
        t.enabled = true;
        ASSERT_OK(turns_begin(&t, "a"));
        ASSERT_OK(turns_wait(&t, mk(&b1, "b")));
        ASSERT_OK(turns_wait(&t, mk(&c1, "c")));
        /* someone waits: even a's own new request queues behind them */
        ASSERT_FALSE(turns_may_go(&t, "a"));
        ASSERT_OK(turns_wait(&t, mk(&a2, "a")));
        ASSERT_EQ(t.len, 3);
        ASSERT_NULL(turns_next(&t)); /* a in flight: b must wait */
        turns_end(&t, "a");
        ASSERT_TRUE(turns_next(&t) == &b1);
        ASSERT_OK(turns_begin(&t, "b"));
        ASSERT_NULL(turns_next(&t)); /* c waits for b */
        turns_end(&t, "b");
        ASSERT_TRUE(turns_next(&t) == &c1);
        ASSERT_OK(turns_begin(&t, "c"));
        ASSERT_NULL(turns_next(&t));
        turns_end(&t, "c");
        ASSERT_TRUE(turns_next(&t) == &a2);
        ASSERT_NULL(turns_next(&t));
        ASSERT_EQ(t.len, 0);
        turns_done(&t);
}

TEST(same_party_head_goes_while_it_is_in_flight)
{
        struct turns t;
        struct turn a2;

        turns_init(&t, 8);
        t.enabled = true;
        ASSERT_OK(turns_begin(&t, "a"));
        ASSERT_OK(turns_wait(&t, mk(&a2, "a")));
        ASSERT_TRUE(turns_next(&t) == &a2);
        turns_done(&t);
}

TEST(off_queue_is_waiting_for_ready)
{
        struct turns t;
        struct turn a, b;

        turns_init(&t, 8);
        ASSERT_OK(turns_begin(&t, "x"));
        ASSERT_OK(turns_wait(&t, mk(&a, "a")));
        ASSERT_OK(turns_wait(&t, mk(&b, "b")));
        /* turn-taking off: the queue only held them until the session was ready */
        ASSERT_TRUE(turns_next(&t) == &a);
        ASSERT_TRUE(turns_next(&t) == &b);
        ASSERT_NULL(turns_next(&t));
        turns_done(&t);
}

TEST(bounded)
{
        struct turns t;
        struct turn w[3];

        turns_init(&t, 2);
        ASSERT_OK(turns_wait(&t, mk(&w[0], "a")));
        ASSERT_OK(turns_wait(&t, mk(&w[1], "b")));
        ASSERT_EQ(turns_wait(&t, mk(&w[2], "c")), -ENOBUFS);
        ASSERT_EQ(t.len, 2);
        turns_done(&t);
}

TEST(one_party_gets_its_share)
{
        struct turns t;
        struct turn a[3], b, n[3];

        turns_init(&t, 16); /* 2 each */
        ASSERT_EQ(t.max_per_party, 2);
        t.enabled = true;
        ASSERT_OK(turns_wait(&t, mk(&a[0], "a")));
        ASSERT_OK(turns_wait(&t, mk(&a[1], "a")));
        ASSERT_EQ(turns_wait(&t, mk(&a[2], "a")), -ENOBUFS);
        ASSERT_OK(turns_wait(&t, mk(&b, "b"))); /* another party still gets in */
        for (int i = 0; i < 3; i++)             /* nobody's are not counted as one party */
                ASSERT_OK(turns_wait(&t, mk(&n[i], "")));
        ASSERT_TRUE(turns_pop(&t) == &a[0]);
        ASSERT_OK(turns_wait(&t, &a[2]));
        turns_done(&t);
        turns_init(&t, 3);
        ASSERT_EQ(t.max_per_party, 1);
        /* not taking turns (a session starting): only the whole queue is bounded */
        ASSERT_OK(turns_wait(&t, mk(&a[0], "a")));
        ASSERT_OK(turns_wait(&t, mk(&a[1], "a")));
        turns_done(&t);
}

TEST(remove_anywhere)
{
        struct turns t;
        struct turn a, b, c, d;

        turns_init(&t, 8);
        ASSERT_OK(turns_wait(&t, mk(&a, "a")));
        ASSERT_OK(turns_wait(&t, mk(&b, "b")));
        ASSERT_OK(turns_wait(&t, mk(&c, "c")));
        ASSERT_TRUE(turns_remove(&t, &b));
        ASSERT_FALSE(turns_remove(&t, &b));
        ASSERT_FALSE(turns_remove(&t, mk(&d, "d")));
        ASSERT_TRUE(turns_remove(&t, &c)); /* the tail */
        ASSERT_OK(turns_wait(&t, &d));     /* the tail is right after removing it */
        ASSERT_TRUE(turns_pop(&t) == &a);
        ASSERT_TRUE(turns_pop(&t) == &d);
        ASSERT_NULL(turns_pop(&t));
        ASSERT_NULL(t.tail);
        turns_done(&t);
}

TEST(in_flight_counts_parties)
{
        struct turns t;
        const char *who;

        turns_init(&t, 8);
        ASSERT_EQ(turns_in_flight(&t, &who), 0);
        ASSERT_NULL(who);
        ASSERT_OK(turns_begin(&t, ""));
        ASSERT_EQ(turns_in_flight(&t, &who), 0); /* nobody's requests are nobody's */
        ASSERT_OK(turns_begin(&t, "s1"));
        ASSERT_OK(turns_begin(&t, "s1"));
        ASSERT_EQ(turns_in_flight(&t, &who), 1);
        ASSERT_STREQ(who, "s1");
        ASSERT_OK(turns_begin(&t, "s2"));
        ASSERT_EQ(turns_in_flight(&t, &who), 2);
        ASSERT_NULL(who);
        turns_end(&t, "s1");
        turns_end(&t, "s1");
        turns_end(&t, "s1"); /* one too many: harmless */
        turns_end(&t, "nobody");
        ASSERT_EQ(turns_in_flight(&t, &who), 1);
        ASSERT_STREQ(who, "s2");
        turns_done(&t);
}

/* maxConcurrency: at the cap everyone waits, first come first served, whatever the party;
 * a finished request lets the head go; turn-taking off or on. */
TEST(cap_on_requests_in_flight)
{
        struct turns t;
        struct turn w1, w2;

        for (int on = 0; on <= 1; on++) {
                turns_init(&t, 8);
                t.enabled = on;
                t.max_in_flight = 2;
                ASSERT_TRUE(turns_may_go(&t, "a"));
                ASSERT_OK(turns_begin(&t, "a"));
                ASSERT_TRUE(turns_may_go(&t, "a"));
                ASSERT_OK(turns_begin(&t, "a"));
                ASSERT_EQ(t.in_flight, 2);
                ASSERT_FALSE(turns_may_go(&t, "a"));
                ASSERT_FALSE(turns_may_go(&t, ""));
                ASSERT_OK(turns_wait(&t, mk(&w1, "a")));
                ASSERT_OK(turns_wait(&t, mk(&w2, "b")));
                ASSERT_NULL(turns_next(&t));
                turns_end(&t, "a");
                ASSERT_EQ(t.in_flight, 1);
                /* one slot: the head goes, the next waits */
                ASSERT_TRUE(turns_next(&t) == &w1);
                ASSERT_OK(turns_begin(&t, "a"));
                ASSERT_NULL(turns_next(&t));
                /* someone new waits behind those waiting, even with slots free */
                turns_end(&t, "a");
                turns_end(&t, "a");
                ASSERT_FALSE(turns_may_go(&t, "c"));
                ASSERT_TRUE(turns_next(&t) == &w2);
                ASSERT_EQ(t.in_flight, 0);
                turns_done(&t);
        }
}

HARNESS_MAIN()
