/* gil.h: an emulated interpreter lock, modelled on CPython 3's "new GIL".
 *
 * Why it exists: the documents ran CPU-bound counting in 5 Python threads and
 * saw no speedup, because a CPython thread must hold the Global Interpreter
 * Lock to run bytecode.  C threads have no such lock and do scale.  To show
 * *both* results from one program, lab 02 can run its threads under this
 * lock, which behaves like CPython's (Python/ceval_gil.h, 3.2 and later):
 *
 *   - A thread holds the GIL while it runs "interpreted" work.
 *   - The work polls an eval-breaker flag every few iterations
 *     (gil_checkpoint), as the bytecode loop does.
 *   - A thread that has waited for a whole switch interval (default 5 ms,
 *     sys.getswitchinterval()) without any other thread taking the GIL in the
 *     meantime sets the drop request.  The holder sees it at its next
 *     checkpoint and releases the GIL.
 *   - Forced switching: on any drop while the request is set, the old holder
 *     waits until another thread has actually taken the GIL, so it cannot
 *     grab it right back and starve the waiter.
 *
 * So at most one thread runs interpreted work at any moment, whatever the
 * number of cores: W threads take as long as one thread doing all the work,
 * plus the cost of switching.
 */
#ifndef COMMON_GIL_H
#define COMMON_GIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct trace;

struct gil {
    pthread_mutex_t mutex;
    pthread_cond_t released;  /* signalled when the holder lets go */
    pthread_cond_t switched;  /* signalled when a new holder took it */
    bool locked;              /* protected by mutex */
    uint64_t switch_number;   /* acquisitions so far; protected by mutex */
    int waiting;              /* threads blocked in gil_acquire */
    uint64_t interval_ns;     /* the switch interval */

    /* The eval breaker: set by a waiter, read by the holder without the
     * mutex at every checkpoint (a relaxed load: a late look costs one more
     * checkpoint, never correctness, because the hand-over itself happens
     * under the mutex). */
    atomic_bool drop_request;

    /* Counters, read with gil_counters(). */
    atomic_uint_fast64_t acquisitions;
    atomic_uint_fast64_t forced_switches;
    atomic_uint_fast64_t wait_ns;
    /* Optional timeline (gil_set_trace): who held the GIL when.  Written
     * only under the mutex, so the slices of successive holders are in
     * hand-over order and never overlap. */
    struct trace *trace;
    double held_since;        /* the holder's acquisition, clock_seconds() */
};

struct gil_counters {
    uint64_t acquisitions;    /* times any thread took the GIL */
    uint64_t forced_switches; /* hand-overs made on a waiter's request */
    double wait_seconds;      /* time all threads spent waiting for it */
};

/* interval_seconds: how long a waiter waits before asking for the GIL. */
void gil_init(struct gil *gil, double interval_seconds);
void gil_destroy(struct gil *gil);

/* Block until this thread holds the GIL. */
void gil_acquire(struct gil *gil);

/* Let the GIL go (at the end of the work, or around blocking I/O, as
 * CPython does around a read() or a sleep()).  If a waiter has asked for
 * the GIL, wait until it has taken it (forced switching). */
void gil_release(struct gil *gil);

/* Hand the GIL to the waiter that asked for it, then queue to take it
 * back.  Called by gil_checkpoint when the drop request is set. */
void gil_yield(struct gil *gil);

/* The eval-breaker poll: cheap enough to call every few thousand
 * iterations of a hot loop (one relaxed load when nobody waits). */
static inline void gil_checkpoint(struct gil *gil)
{
    if (atomic_load_explicit(&gil->drop_request, memory_order_relaxed))
        gil_yield(gil);
}

struct gil_counters gil_counters(struct gil *gil);

/* Record a timeline into `trace` (trace.h; NULL: stop): on each thread's
 * row a "waiting for the GIL" slice from the call of gil_acquire to the
 * acquisition and a "holds the GIL" slice until its release, a "forced
 * switch" mark where a holder let go on request; and on a row of its own,
 * named "GIL", one slice per holding, named after the holder (log.h's
 * name).  Call before the threads start. */
void gil_set_trace(struct gil *gil, struct trace *trace);

#endif
