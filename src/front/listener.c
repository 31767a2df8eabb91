/* SPDX-License-Identifier: MIT */
/*
 * Listen mode (--listen, or a listening socket from the service manager with
 * Accept=no). This process accepts the connections and holds each one, with
 * no process of its own, until its first byte arrives; then it forks a child
 * that serves it exactly as under Accept=yes (front_serve() on fd 3, every
 * other descriptor closed). A connection that sends nothing within
 * MCP_HTTP_FIRST_REQUEST_TIMEOUT of its accept is closed here, and once
 * MCP_LISTEN_MAX_IDLE are held the oldest is closed for each new one: idle
 * sockets cost a slot here, never a process, and cannot lock a client out.
 *
 * Children (at most FRONT_MAX_CHILDREN) are reaped through a signalfd in the
 * same epoll set, so the loop waits nowhere but in epoll_wait(). A
 * connection whose first byte comes while every child slot is taken waits,
 * unwatched, for a child to exit, under the same first-request deadline.
 *
 * Held connections are kept in accept order, oldest first: with one timeout
 * for all, that is also the order of their deadlines, and the oldest is the
 * one to close when room is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "front/front.h"
#include "log.h"
#include "macro.h"
#include "mcp-limits.h"

#define TAG_LISTEN UINT64_MAX
#define TAG_SIGNAL (UINT64_MAX - 1)
#define NO_SLOT    UINT32_MAX

/* One connection held until its first byte. */
struct held {
        int fd;        /* -EBADF when the slot is free */
        uint32_t gen;  /* bumped when the slot is freed: an event for its old fd is stale */
        bool waiting;  /* its first byte came while every child slot was taken */
        uint32_t prev; /* accept order */
        uint32_t next; /* accept order; the free list while free */
        uint64_t accepted_usec;
};

struct listener {
        struct front_settings *set;
        int lfd, epfd, sigfd, reserve_fd;
        sigset_t old_mask;
        struct rlimit old_nofile; /* the children get it back */
        bool nofile_raised;
        struct held *slots;
        uint32_t n_slots;   /* the idle bound */
        uint32_t n_touched; /* slots ever used; the memory above is untouched */
        uint32_t free_head, oldest, newest;
        uint32_t n_held, n_waiting;
        unsigned children;
        uint64_t accept_resume_usec; /* accepting paused until then, or 0 */
        bool stop;
        /* closed connections the rate-limited notice has not told yet */
        unsigned n_silent, n_evicted, n_late, n_dropped;
        uint64_t report_usec; /* no notice before this */
};

static void peer_of(int fd, char *out, size_t n)
{
        if (log_get_max_level() >= LOG_DEBUG)
                front_peer_name(fd, out, n);
        else
                snprintf(out, n, "?");
}

static uint32_t held_add(struct listener *l, int fd, uint64_t now)
{
        uint32_t i;
        struct held *h;

        if (l->free_head != NO_SLOT) {
                i = l->free_head;
                l->free_head = l->slots[i].next;
        } else if (l->n_touched < l->n_slots)
                i = l->n_touched++;
        else
                return NO_SLOT;
        h = &l->slots[i];
        *h = (struct held){
            .fd = fd, .gen = h->gen, .prev = l->newest, .next = NO_SLOT, .accepted_usec = now};
        if (l->newest != NO_SLOT)
                l->slots[l->newest].next = i;
        else
                l->oldest = i;
        l->newest = i;
        l->n_held++;
        return i;
}

/* Forgets slot i and returns its fd, still open and out of the epoll set. */
static int held_take(struct listener *l, uint32_t i)
{
        struct held *h = &l->slots[i];
        int fd = h->fd;

        /* Explicitly: a child forked since may still share the socket, and epoll
         * forgets a descriptor on close() only when no other one refers to it. */
        if (!h->waiting)
                (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        else
                l->n_waiting--;
        if (h->prev != NO_SLOT)
                l->slots[h->prev].next = h->next;
        else
                l->oldest = h->next;
        if (h->next != NO_SLOT)
                l->slots[h->next].prev = h->prev;
        else
                l->newest = h->prev;
        *h = (struct held){.fd = -EBADF, .gen = h->gen + 1, .prev = NO_SLOT, .next = l->free_head};
        l->free_head = i;
        l->n_held--;
        return fd;
}

static void held_close(struct listener *l, uint32_t i)
{
        close(held_take(l, i));
}

static uint64_t deadline_of(const struct listener *l, uint32_t i)
{
        return l->slots[i].accepted_usec + (uint64_t)l->set->head_ms * 1000;
}

/* The child: the connection becomes fd 3 with nothing else open, as under Accept=yes. */
_noreturn_ static void child_serve(struct listener *l, int fd, uint64_t accepted_usec)
{
        (void)sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
        if (fd != FRONT_LISTEN_FDS_START) {
                if (dup3(fd, FRONT_LISTEN_FDS_START, O_CLOEXEC) < 0)
                        _exit(1);
        }
        /* Before the lower limit comes back: without close_range(2) the fallback closes up
         * to the limit, and held connections may sit above the old one. */
        fd_close_from(FRONT_LISTEN_FDS_START + 1);
        if (l->nofile_raised)
                (void)setrlimit(RLIMIT_NOFILE, &l->old_nofile);
        front_serve(l->set, FRONT_LISTEN_FDS_START, FRONT_LISTEN_FDS_START, accepted_usec);
        _exit(0);
}

static void spawn(struct listener *l, uint32_t i)
{
        uint64_t accepted = l->slots[i].accepted_usec;
        int fd = held_take(l, i);
        pid_t pid;

        /* Children inherit fresh keys: a changed key file is read once, here. */
        front_settings_refresh_keys(l->set);
        pid = fork();
        if (pid == 0)
                child_serve(l, fd, accepted);
        if (pid < 0)
                log_warning_errno(errno, "fork(): %m, dropping a connection");
        else
                l->children++;
        close(fd);
}

/* EPOLLIN on a held connection: its first byte, or its end. */
static void on_held(struct listener *l, uint32_t i)
{
        struct held *h = &l->slots[i];
        char c, peer[80];
        ssize_t n;

        n = recv(h->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                peer_of(h->fd, peer, sizeof(peer));
                log_debug("%s: closed before sending anything", peer);
                held_close(l, i);
                return;
        }
        if (l->children < FRONT_MAX_CHILDREN) {
                spawn(l, i);
                return;
        }
        (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
        h->waiting = true;
        l->n_waiting++;
}

/* Connections that have had their time: the oldest first. */
static void expire(struct listener *l, uint64_t now)
{
        char peer[80];

        while (l->oldest != NO_SLOT && deadline_of(l, l->oldest) <= now) {
                struct held *h = &l->slots[l->oldest];
                peer_of(h->fd, peer, sizeof(peer));
                if (h->waiting) {
                        log_debug("%s: no child free within %d ms of connecting, closing", peer,
                                  l->set->head_ms);
                        l->n_late++;
                } else {
                        log_debug("%s: sent nothing within %d ms of connecting, closing", peer,
                                  l->set->head_ms);
                        l->n_silent++;
                }
                held_close(l, l->oldest);
        }
}

static void evict_oldest(struct listener *l)
{
        char peer[80];

        peer_of(l->slots[l->oldest].fd, peer, sizeof(peer));
        log_debug("%s: closing the oldest idle connection, %u are held", peer, l->n_held);
        l->n_evicted++;
        held_close(l, l->oldest);
}

static void start_waiting(struct listener *l)
{
        uint32_t i = l->oldest;

        while (l->n_waiting > 0 && l->children < FRONT_MAX_CHILDREN && i != NO_SLOT) {
                uint32_t next = l->slots[i].next;
                if (l->slots[i].waiting)
                        spawn(l, i);
                i = next;
        }
}

static void pause_accepting(struct listener *l, uint64_t now)
{
        struct epoll_event ev = {.events = 0, .data.u64 = TAG_LISTEN};

        (void)epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->lfd, &ev);
        l->accept_resume_usec = now + FRONT_ACCEPT_PAUSE_MS * 1000ULL;
}

/* Out of descriptors with none held to give back: take the connection with the
 * reserve descriptor's place and close it, so the listening socket does not stay
 * readable for nothing. */
static void drop_one(struct listener *l, uint64_t now)
{
        int fd;

        l->reserve_fd = safe_close(l->reserve_fd);
        fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                l->n_dropped++;
        }
        l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || l->reserve_fd < 0)
                pause_accepting(l, now);
}

static bool connection_pending(const struct listener *l)
{
        struct pollfd p = {.fd = l->lfd, .events = POLLIN};

        return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static void accept_some(struct listener *l, uint64_t now)
{
        for (unsigned k = 0; k < FRONT_ACCEPT_BATCH; k++) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
                uint32_t i;
                int fd;

                fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EMFILE || errno == ENFILE) {
                                /* Said before looking at the queue, which may be empty. */
                                if (!connection_pending(l))
                                        return;
                                if (l->n_held > 0)
                                        evict_oldest(l);
                                else
                                        drop_one(l, now);
                                continue;
                        }
                        if (errno == ENOBUFS || errno == ENOMEM) {
                                log_warning_errno(errno, "accept(): %m, pausing");
                                pause_accepting(l, now);
                                return;
                        }
                        /* EAGAIN, or a connection that failed before we took it. */
                        if (errno != EAGAIN)
                                log_debug_errno(errno, "accept(): %m");
                        return;
                }
                if (l->n_held >= l->n_slots)
                        evict_oldest(l);
                i = held_add(l, fd, now);
                ev.data.u64 = (uint64_t)l->slots[i].gen << 32 | i;
                if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        log_warning_errno(errno, "epoll_ctl(): %m, dropping a connection");
                        held_close(l, i);
                }
        }
}

static void on_signal(struct listener *l)
{
        struct signalfd_siginfo si;

        while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGCHLD)
                        continue;
                log_notice("%s: stopping the listener", strsignal((int)si.ssi_signo));
                l->stop = true;
        }
        while (l->children > 0 && waitpid(-1, NULL, WNOHANG) > 0)
                l->children--;
        start_waiting(l);
}

/* Appends ", " (unless first) and a formatted part to msg of size bytes, n used so far. */
_printf_(4, 5) static size_t msg_append(char *msg, size_t size, size_t n, const char *fmt, ...)
{
        va_list ap;

        if (n > 0 && n < size)
                n += (size_t)snprintf(msg + n, size - n, ", ");
        if (n < size) {
                va_start(ap, fmt);
                n += (size_t)vsnprintf(msg + n, size - n, fmt, ap);
                va_end(ap);
        }
        return MIN(n, size);
}

/* One notice for what was closed since the last, at most every FRONT_LISTEN_REPORT_MS;
 * it names only the reasons that occurred. */
static void report(struct listener *l, uint64_t now)
{
        char msg[512] = "";
        size_t n = 0;

        if (!l->n_silent && !l->n_evicted && !l->n_late && !l->n_dropped)
                return;
        if (now < l->report_usec)
                return;
        if (l->n_silent)
                n = msg_append(msg, sizeof(msg), n, "%u sent nothing within %d ms of connecting",
                               l->n_silent, l->set->head_ms);
        if (l->n_evicted)
                n = msg_append(msg, sizeof(msg), n,
                               "%u idle ones made room for new ones (at most %u held)",
                               l->n_evicted, l->n_slots);
        if (l->n_late)
                n = msg_append(msg, sizeof(msg), n,
                               "%u found none of the %d children free within %d ms", l->n_late,
                               FRONT_MAX_CHILDREN, l->set->head_ms);
        if (l->n_dropped)
                n = msg_append(msg, sizeof(msg), n, "%u came with no descriptor left",
                               l->n_dropped);
        log_notice("closed connections: %s", msg);
        l->n_silent = l->n_evicted = l->n_late = l->n_dropped = 0;
        l->report_usec = now + FRONT_LISTEN_REPORT_MS * 1000ULL;
}

static int timeout_ms(const struct listener *l, uint64_t now)
{
        uint64_t until = UINT64_MAX;

        if (l->oldest != NO_SLOT)
                until = deadline_of(l, l->oldest);
        if (l->accept_resume_usec)
                until = MIN(until, l->accept_resume_usec);
        if (l->n_silent || l->n_evicted || l->n_late || l->n_dropped)
                until = MIN(until, l->report_usec);
        if (until == UINT64_MAX)
                return -1;
        if (until <= now)
                return 0;
        return (int)MIN((until - now + 999) / 1000, (uint64_t)INT32_MAX);
}

/* Raises the soft descriptor limit to the hard one; returns how many connections fit. */
static uint32_t idle_bound(struct listener *l)
{
        struct rlimit rl;
        uint32_t bound = l->set->listen_max_idle;

        if (getrlimit(RLIMIT_NOFILE, &l->old_nofile) < 0)
                return bound; /* then accept() says EMFILE, handled */
        rl = l->old_nofile;
        if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
                        log_warning_errno(errno, "cannot raise RLIMIT_NOFILE to %llu: %m",
                                          (unsigned long long)rl.rlim_max);
                        rl = l->old_nofile;
                } else
                        l->nofile_raised = true;
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)bound + FRONT_LISTEN_FDS_SPARE) {
                uint32_t fit = rl.rlim_cur > FRONT_LISTEN_FDS_SPARE
                                   ? (uint32_t)(rl.rlim_cur - FRONT_LISTEN_FDS_SPARE)
                                   : 1;
                log_warning("RLIMIT_NOFILE is %llu: at most %u idle connections are held, not %u",
                            (unsigned long long)rl.rlim_cur, fit, bound);
                bound = fit;
        }
        return bound;
}

static int listener_setup(struct listener *l)
{
        struct epoll_event ev = {.events = EPOLLIN};
        sigset_t mask;
        int flags;

        l->n_slots = idle_bound(l);
        l->slots = calloc(l->n_slots, sizeof(struct held));
        if (!l->slots)
                return log_error_errno(ENOMEM, "out of memory");
        flags = fcntl(l->lfd, F_GETFL);
        if (flags < 0 || fcntl(l->lfd, F_SETFL, flags | O_NONBLOCK) < 0)
                return log_error_errno(errno, "cannot make the listening socket non-blocking: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, &l->old_mask) < 0)
                return log_error_errno(errno, "sigprocmask(): %m");
        l->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (l->sigfd < 0)
                return log_error_errno(errno, "signalfd(): %m");
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0)
                return log_error_errno(errno, "epoll_create1(): %m");
        ev.data.u64 = TAG_LISTEN;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->lfd, &ev) < 0)
                return log_error_errno(errno, "epoll_ctl(): %m");
        ev.data.u64 = TAG_SIGNAL;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sigfd, &ev) < 0)
                return log_error_errno(errno, "epoll_ctl(): %m");
        l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (l->reserve_fd < 0)
                log_warning_errno(errno, "cannot open /dev/null: %m, continuing");
        log_debug("holding at most %u idle connections, %d ms each", l->n_slots, l->set->head_ms);
        return 0;
}

int front_listener_run(struct front_settings *set, int lfd)
{
        struct listener l = {
            .set = set,
            .lfd = lfd,
            .epfd = -EBADF,
            .sigfd = -EBADF,
            .reserve_fd = -EBADF,
            .free_head = NO_SLOT,
            .oldest = NO_SLOT,
            .newest = NO_SLOT,
        };
        struct epoll_event evs[FRONT_ACCEPT_BATCH];
        int r;

        r = listener_setup(&l);
        while (r >= 0 && !l.stop) {
                uint64_t now = front_now_usec();
                int n;

                expire(&l, now);
                if (l.accept_resume_usec && now >= l.accept_resume_usec) {
                        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
                        (void)epoll_ctl(l.epfd, EPOLL_CTL_MOD, l.lfd, &ev);
                        l.accept_resume_usec = 0;
                }
                report(&l, now);
                n = epoll_wait(l.epfd, evs, (int)ELEMENTSOF(evs), timeout_ms(&l, now));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = log_error_errno(errno, "epoll_wait(): %m");
                        break;
                }
                now = front_now_usec();
                for (int k = 0; k < n; k++) {
                        uint64_t tag = evs[k].data.u64;
                        uint32_t i = (uint32_t)tag;
                        if (tag == TAG_LISTEN)
                                accept_some(&l, now);
                        else if (tag == TAG_SIGNAL)
                                on_signal(&l);
                        else if (i < l.n_touched && l.slots[i].fd >= 0 &&
                                 l.slots[i].gen == (uint32_t)(tag >> 32) && !l.slots[i].waiting)
                                on_held(&l, i);
                }
        }
        /* Children finish their connections; those that never started one are closed. */
        while (l.oldest != NO_SLOT)
                held_close(&l, l.oldest);
        close(lfd);
        safe_close(l.epfd);
        safe_close(l.sigfd);
        safe_close(l.reserve_fd);
        free(l.slots);
        (void)sigprocmask(SIG_SETMASK, &l.old_mask, NULL);
        return r;
}
