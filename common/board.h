/* board.h: who is doing what, in shared memory: the evidence for a
 * deadlock diagnosis.
 *
 * A deadlock cannot be seen from outside: a blocked run and a slow run
 * both print nothing.  So the parties of a run (its processes and threads)
 * say what they are doing on a board that every process can read: before
 * a call that may block they write "blocked in get() on queue Q" (or put,
 * join, lock), after it "running", and each step that moves the run
 * forward bumps a progress count.  The watchdog (watchdog_set_stall with
 * board_watch) then knows when nothing has moved while every live party
 * waits, and board_explain() says why, in plain words:
 *
 *     consumer-0 (pid 4242, tid 4242) blocked in get() on an empty queue
 *     'items' for 2.0 s
 *     ...
 *     consumer-0 waits for an item on 'items', but nothing can ever
 *     arrive: every party that puts on it has ended.
 *
 * How it concludes: it builds the wait-for graph from the board.  A party
 * in join(X) waits for X; one in lock(L) waits for L's holder; one in get()
 * on Q waits for any live party that puts on Q (its declared role), one in
 * put() for any that gets from Q.  A cycle in that graph is a deadlock
 * ("worker-0 holds A and waits for B, held by worker-1; ..."), and so is a
 * party that waits for nobody alive ("nothing can ever arrive").
 *
 * Consistency: each record is written under a sequence count (a seqlock)
 * that a writer takes with a compare-and-swap, so the rare two writers of
 * one record (the parent's board_started() right after fork() and the
 * child's own first writes; later the reaper's board_exited()) take turns,
 * and a reader -- the watchdog thread, at any instant -- never mixes two
 * states of one record.  Readers never block: after a few retries they
 * take what they have, which a stall check re-reads 50 ms later anyway.
 *
 * Create the board before fork(): it lives in a MAP_SHARED mapping.
 */
#ifndef COMMON_BOARD_H
#define COMMON_BOARD_H

#include "queue.h"
#include "watchdog.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum { BOARD_PARTIES = 64, BOARD_QUEUES = 4, BOARD_LOCKS = 16 };

enum board_state {
    BOARD_UNUSED,       /* no such party */
    BOARD_STARTING,     /* added, not yet running (a child being forked) */
    BOARD_RUNNING,      /* computing, printing, sleeping a fixed pause */
    BOARD_WAITING,      /* in a wait with a bound of its own (a timeout) */
    BOARD_BLOCKED_GET,  /* in get() on queue `object`, no timeout */
    BOARD_BLOCKED_PUT,  /* in put() on queue `object`, no timeout */
    BOARD_BLOCKED_JOIN, /* in join() of party `object` */
    BOARD_BLOCKED_LOCK, /* in lock() of lock `object` */
    BOARD_FINISHED,     /* returned from its body, not yet reaped */
    BOARD_EXITED,       /* reaped: exit code known */
};

struct board;

/* A new, empty board in a shared mapping (never fails: a failed mmap stops
 * the program).  board_destroy unmaps it (its creator, at the end). */
struct board *board_create(void);
void board_destroy(struct board *board);

/* Declare the run's parties, queues and locks, before fork().  Each
 * returns the index the other calls use.  Names are kept to 15 bytes. */
int board_add_party(struct board *board, const char *name);
int board_add_queue(struct board *board, const char *name, struct queue *queue,
                    int capacity);
int board_add_lock(struct board *board, const char *name);

/* Declare that `party` puts on / gets from `queue`: who could ever end a
 * wait in get() (a putter) or in put() (a getter). */
void board_set_role(struct board *board, int party, int queue, bool puts,
                    bool gets);

/* The party is running as pid/tid.  Call it in the party itself, and/or
 * in the parent right after starting it: both write the same values, and
 * a state the party has already reached (blocked, say) is kept. */
void board_started(struct board *board, int party, pid_t pid, pid_t tid);

/* What the party does now: one of the states above, and the object it
 * concerns (queue, party or lock index; -1 for none).  Called by the party
 * itself, before and after each call that may block. */
void board_set(struct board *board, int party, enum board_state state,
               int object);

/* The party took (held = true) or released a lock. */
void board_hold(struct board *board, int party, int lock, bool held);

/* The party was reaped with this exit code (proc.h's convention: -N for
 * killed by signal N).  Called by whoever reaped it. */
void board_exited(struct board *board, int party, int exitcode);

/* The party closed `queue` (queue_close): a get() or put() blocked on it
 * is about to return, so it no longer counts as blocked. */
void board_closed(struct board *board, int queue);

/* The run moved forward (an item put or got, a lock taken, a join). */
void board_progress(struct board *board);
uint64_t board_progress_count(struct board *board);

/* Is every live party (not unused, not exited) blocked without a bound,
 * waiting for something that is not there (an item on an empty queue, room
 * in a full one, a child that has not finished, a lock), and is there at
 * least one?  A party woken but not yet running again (its queue has an
 * item now, or was closed) is not counted as blocked: on a loaded machine
 * that moment can outlast a short --stall. */
bool board_all_blocked(struct board *board);

/* For watchdog_set_stall(seconds, board_watch, board). */
struct watchdog_progress board_watch(void *board);

/* A cycle in the wait-for graph, as party indexes in wait order (each
 * waits for the next, the last for the first).  Returns its length, 0 if
 * there is none; at most `capacity` indexes are stored.  Parties with several possible wakers (a get with two
 * live producers) count as waiting for each of them. */
int board_find_cycle(struct board *board, int *cycle, int capacity);

/* Print the board in plain words (one line per party, "who waits on
 * what, held what, for how long"), then the conclusion: the cycle, the
 * waits nobody alive can end, or who is still running (then it is not a
 * deadlock).  Every line starts with `prefix`. */
void board_explain(struct board *board, FILE *out, const char *prefix);

/* One party's state in words, without the name: "blocked in lock(B),
 * holding A".  For narration and --trace.  Returns `buffer`. */
const char *board_describe(struct board *board, int party, char *buffer,
                           int size);

/* Locks held by the party, "A, B" or "nothing".  Returns `buffer`. */
const char *board_holdings(struct board *board, int party, char *buffer,
                           int size);

/* The party's name and pid, "worker-0 (pid 4242)".  Returns `buffer`. */
const char *board_who(struct board *board, int party, char *buffer, int size);

#endif
