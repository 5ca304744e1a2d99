/* peerwait.h: waiting for a peer's message without sleeping -- only while
 * the peer works.  Used by the channel (pipes) and the manager (sockets).
 *
 * A message between two processes through the kernel (a pipe, a socket)
 * costs a sleep and a wake-up on each side whenever the receiver gets there
 * first: tens of microseconds on a VM, most of a round trip (lab 05
 * measures it: the parent is on a CPU for a fraction of each pipe round
 * trip).  The two ends of a peerwait share one page, each publishing how
 * many messages it has sent and received and whether it is asleep in a
 * receive.  A receiver with nothing to read spins on the peer's count --
 * no system call -- while the peer works: it is awake, or it is asleep but
 * has messages of ours to read (it is being woken to work on them).  When
 * the peer sleeps with nothing of ours to read, it waits for something
 * else: no reply is coming soon, so the receiver sleeps at once.
 *
 * Two processes on one CPU: a wake-up from a pipe or socket write often
 * puts the woken process on the writer's CPU, and a spinning writer would
 * then keep it off the CPU.  So each end publishes where it runs
 * (sched_getcpu), and a spinner whose peer is on its own CPU sleeps at
 * once, which lets the peer run.  Spinning happens only while the peer
 * runs, or will run, on another CPU: on a busy machine, where the two
 * processes keep landing on one CPU, a receive costs what a pipe's does.
 *
 * The spin is bounded and adapts: a spin that saw the message doubles the
 * budget (up to 50 us), one that ran out halves it, and below 2 us spinning
 * stops for the next 64 receives.  So when the peer cannot run (a busy
 * machine, the peer preempted), spinning costs little and soon none; with
 * one CPU it never happens.
 *
 *     int page = peerwait_page();              (before fork; a memfd)
 *     peerwait_open(&mine, page, 0);           (the other end: side 1)
 *     ... after each message sent:             peerwait_sent(&mine);
 *     ... before a receive that may block:     peerwait_before_receive(&mine, timeout);
 *     ... after it:                            peerwait_after_receive(&mine, got_one);
 */
#ifndef COMMON_PEERWAIT_H
#define COMMON_PEERWAIT_H

#include <stdbool.h>
#include <stdint.h>

struct peerwait_page; /* the shared page */

/* One end.  Plain data; `page` NULL means "never spin" (every call is then
 * a no-op), so an end that could not be given a page still works. */
struct peerwait {
    struct peerwait_page *page; /* this end's own mapping */
    int side;                   /* 0 or 1 */
    uint64_t received;          /* messages this end has received */
    uint64_t budget_ns;         /* how long it may spin now */
    uint32_t pause;             /* receives left before trying again */
};

/* A new page: a memfd descriptor (close-on-exec) for peerwait_open.  Each
 * end maps it once; the descriptor can then be closed, or passed to another
 * process (over a Unix socket) that maps it there. */
int peerwait_page(void);

/* Map `fd` for one end, `side` 0 or 1 (the two ends take different
 * sides).  A page that cannot be mapped leaves the end without one. */
void peerwait_open(struct peerwait *end, int fd, int side);
/* Unmap this end's mapping; harmless twice. */
void peerwait_close(struct peerwait *end);

/* This end has sent one whole message. */
void peerwait_sent(struct peerwait *end);
/* Nothing is buffered: spin while it pays, then mark this end asleep (the
 * caller's receive may block).  timeout 0: no spin. */
void peerwait_before_receive(struct peerwait *end, double timeout);
/* The receive returned; `got` if it returned one whole message. */
void peerwait_after_receive(struct peerwait *end, bool got);

/* How often the spin paid off, in this process so far. */
struct peerwait_stats {
    uint64_t spins_won;   /* the message arrived while spinning */
    uint64_t spins_lost;  /* the spin ran out of budget: then slept */
    uint64_t peer_asleep; /* no spin: the peer was waiting for something else */
};
struct peerwait_stats peerwait_stats(void);

#endif
