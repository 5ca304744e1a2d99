/* pool_internal.h: what the pool_*.c files share (not part of the API).
 *
 * The design, and why (the numbers are the targets of lab 08's benchmark):
 *
 *  - One MAP_SHARED anonymous mapping holds everything the workers see: a
 *    table of `capacity` task entries, a ring of task tickets, one result
 *    ring per worker slot, and the worker slot records.  A thread pool uses
 *    the very same mapping and the very same worker loop (pool_worker.c);
 *    only how a worker starts and ends differs (pool_supervisor.c).
 *
 *  - No system call per task.  500 k tasks/s is 2 us per task end to end on
 *    2 cores, about the price of one futex wake-up alone.  So submitting,
 *    claiming and delivering are a few atomic operations on shared memory,
 *    and a futex call is made only when the other side actually sleeps.
 *    Sleepers register in a bit mask; a waker clears the bit it wakes, so a
 *    burst of tasks costs one wake-up per sleeping worker, not one per task.
 *    A worker that has just run out of work spins for a few microseconds
 *    first ("spinning" mask); while one spins, a submitter wakes nobody.
 *
 *  - Entries and tickets.  Each in-flight task owns one entry: its
 *    function, argument and result, and one 64-bit state word
 *    [ticket:40][incarnation:16][waited:1][phase:7].  The ticket is the task's
 *    number, unique for the life of the pool, so a stale reference to a
 *    reused entry can never match (no ABA).  A worker claims a task with one
 *    compare-and-swap, QUEUED(t) -> RUNNING(t, me), and a cancel is the same
 *    swap to CANCELLED(t): exactly one of them wins.  That one swap also
 *    records, in shared memory, which worker incarnation runs the task, which
 *    is what lets the pool fail exactly the dead worker's task.
 *
 *  - Crash safety.  A worker may be killed between any two instructions.
 *    Each of its steps is committed by one atomic store made last: the
 *    claim (the CAS), and the completion (a result ring's tail, or for a
 *    waited-on task its DONE state).  A worker killed before a commit
 *    changed nothing anyone acts on; the pool then finds its claimed task
 *    by the incarnation in the state word and fails it.  No lock is ever
 *    held across a worker's step, so no lock can be orphaned.
 *
 *  - Results.  Each worker slot has its own single-producer ring of
 *    completed tickets; the result-handler thread drains every ring in
 *    batches and runs the callbacks.  A waited-on task (pool_apply,
 *    pool_map) skips the handler altogether: the worker marks the entry
 *    DONE and the waiting thread, which spins briefly before it sleeps,
 *    sees it at once -- one hop each way, like a pipe ping-pong.
 *
 *  - Deaths.  The supervisor thread polls one pidfd per worker process.
 *    When one becomes readable, it reaps the worker, fails its waited-on
 *    task itself, tells the handler (which first delivers what the dead
 *    worker committed to its ring, then fails its claimed callback task),
 *    and forks the replacement into the same slot, which continues that
 *    ring.  The supervisor is also the only thread that forks, and it lives
 *    until every worker is reaped (proc.h: PR_SET_PDEATHSIG follows the
 *    forking thread).
 *
 *  - Measured on the 2-core VM while other jobs ran (rough): a 2-process
 *    pool takes 2.2-3.3 M empty tasks/s through apply_async (Python's Pool:
 *    ~20 k/s); a blocking apply round trip takes 2-10 us, a pipe ping-pong
 *    between two processes 15-18 us on the same machine at the same time.
 */
#ifndef COMMON_POOL_INTERNAL_H
#define COMMON_POOL_INTERNAL_H

#include "futex.h"
#include "pool.h"
#include "proc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum {
    CACHE_LINE = 64,
    ENTRY_BITS = 20,              /* entry index in a ring cell: capacity <= 1 M */
    DEFAULT_CAPACITY = 4096,
    MASK_WORDS = POOL_MAX_WORKERS / 64,
};

/* Entry phases (the low 8 bits of the state word). */
enum phase {
    PHASE_FREE,      /* not in use */
    PHASE_QUEUED,    /* in the task ring, no worker has it */
    PHASE_RUNNING,   /* claimed by the incarnation in the state word */
    PHASE_DONE,      /* a waited-on task's result is ready */
    PHASE_CANCELLED, /* cancelled before any worker took it */
};

/* Who learns the outcome: the handler thread (callbacks, handles), or a
 * thread waiting in pool_apply / pool_map (STATE_WAITED).  It is a bit of
 * the state word, not a field of its own, so that whoever scans the
 * entries (for a dead worker's task) reads everything it acts on in one
 * atomic load: a separate field could belong to the entry's next task. */
enum { STATE_WAITED = 0x80, PHASE_MASK = 0x7f };

/* done_word of a waited-on entry. */
enum { WAITER_PENDING, WAITER_ASLEEP, WAITER_DONE };

static inline uint64_t state_make(uint64_t ticket, uint32_t incarnation,
                                  enum phase phase)
{
    return ticket << 24 | (uint64_t)(incarnation & 0xffff) << 8 | phase;
}
static inline uint64_t state_ticket(uint64_t state) { return state >> 24; }
static inline uint32_t state_incarnation(uint64_t state)
{
    return (uint32_t)(state >> 8) & 0xffff;
}
static inline enum phase state_phase(uint64_t state)
{
    return (enum phase)(state & PHASE_MASK);
}
static inline bool state_waited(uint64_t state)
{
    return (state & STATE_WAITED) != 0;
}
/* The same task (ticket and delivery) in another phase. */
static inline uint64_t state_next(uint64_t state, uint32_t incarnation,
                                  enum phase phase)
{
    return state_make(state_ticket(state), incarnation, phase) |
           (state & STATE_WAITED);
}

/* The 16-bit tag a worker writes into the tasks it claims: its number,
 * folded into 1..65535 (0 is never a worker's, so the pool's own stores
 * with incarnation 0 cannot match one). */
static inline uint32_t incarnation_of(uint32_t number)
{
    return (number - 1) % 0xffff + 1;
}

static inline uint64_t cell_make(uint64_t ticket, uint32_t entry)
{
    return ticket << ENTRY_BITS | entry;
}
static inline uint64_t cell_ticket(uint64_t cell) { return cell >> ENTRY_BITS; }
static inline uint32_t cell_entry(uint64_t cell)
{
    return (uint32_t)(cell & ((1u << ENTRY_BITS) - 1));
}

/* One task in flight, in shared memory. */
struct entry {
    _Alignas(CACHE_LINE) _Atomic uint64_t state;
    _Atomic uint32_t done_word; /* STATE_WAITED: WAITER_* */
    pool_task_fn task;
    union pool_value argument;
    /* Written by the worker that runs the task (or, if it dies, by the
     * pool), read once the completion is committed. */
    struct pool_result result;
};

/* A single-producer, single-consumer ring of completed cells. */
struct result_ring {
    _Alignas(CACHE_LINE) _Atomic uint64_t tail; /* the worker's */
    _Alignas(CACHE_LINE) _Atomic uint64_t head; /* the handler's */
};

/* One worker slot, in shared memory.  A replacement reuses its slot. */
struct worker_slot {
    _Alignas(CACHE_LINE) _Atomic uint32_t wake_word; /* the worker sleeps here */
    _Atomic int32_t pid, tid;     /* 0 while no worker lives in the slot */
    _Atomic uint32_t number;      /* N of pool-worker-N */
    _Atomic uint32_t leaving;     /* the worker exits on purpose (not a death) */
    /* For pool_describe(): the task being run (0: none), since when. */
    _Atomic uint64_t running_ticket, running_since;
};

/* Everything the workers see.  Sized at creation; see pool_shared_size(). */
struct pool_shared {
    /* Task ring: the next position to claim.  Position p holds ticket
     * p + 1 once it is filled (tickets are handed out in ring order). */
    _Alignas(CACHE_LINE) _Atomic uint64_t head;
    _Alignas(CACHE_LINE) _Atomic uint64_t sleeping[MASK_WORDS];
    _Alignas(CACHE_LINE) _Atomic uint64_t spinning[MASK_WORDS];
    _Alignas(CACHE_LINE) _Atomic uint32_t closed, terminating;
    _Alignas(CACHE_LINE) _Atomic uint32_t handler_word, handler_asleep;
};

/* A death the supervisor reports to the handler. */
struct death {
    int slot;
    uint32_t incarnation, number;
    pid_t pid;
    int exitcode;
    bool terminated;    /* killed by pool_terminate: its task is cancelled */
};

/* What only this process knows about an entry (callbacks and handle). */
struct entry_local {
    /* Published last by the submitter (release) and read first by the
     * handler (acquire), so the fields below are visibly handed over even
     * when the worker in between was another process, which neither the
     * compiler nor ThreadSanitizer can see. */
    _Atomic uint64_t ticket;
    pool_callback_fn callback, error_callback;
    void *context;
    struct pool_async *handle;
    double submitted; /* clock_seconds() at submission, when traced */
};

struct pool_async {
    _Atomic int references;       /* the caller's and the pool's */
    _Atomic uint32_t done;        /* WAITER_*: completed and callback run */
    struct pool *pool;            /* valid until done */
    uint32_t entry;
    uint64_t ticket;
    struct pool_result result;    /* valid once done */
};

struct worker_local {
    struct proc process;  /* POOL_PROCESSES */
    int pidfd;            /* -1: no live worker */
    pthread_t thread;     /* POOL_THREADS */
    bool thread_started;
    uint32_t incarnation, number;
};

struct pool {
    enum pool_kind kind;
    struct trace *trace;  /* pool_trace_all() when created; NULL: none */
    int trace_serial;     /* which traced pool of this process: rows apart */
    int size;
    int capacity;
    uint32_t ring_size;   /* task ring cells: a power of two >= 2 capacity */
    uint32_t result_size; /* cells per result ring: a power of two >= capacity */
    pool_initializer_fn initializer;
    void *initializer_argument;
    double terminate_grace;

    /* The shared mapping and where its parts are. */
    void *mapping;
    size_t mapping_size;
    struct pool_shared *shared;
    struct entry *entries;
    _Atomic uint64_t *task_cells;
    struct worker_slot *slots;
    struct result_ring *rings;     /* one per slot */
    _Atomic uint64_t *result_cells; /* result_size per slot */

    /* Submission: tickets, the free entries, cancels for the handler. */
    pthread_mutex_t lock;
    pthread_cond_t entry_freed;
    int entry_waiters;
    uint32_t *free_entries;
    int free_count;
    uint64_t last_ticket;
    uint64_t *cancelled;  /* cells cancelled by pool_async_cancel */
    int cancelled_count;
    struct death *deaths; /* reported by the supervisor */
    int death_count, death_capacity;
    bool closed_local;    /* under lock: no more submissions */

    struct entry_local *locals;
    struct worker_local *workers;

    /* Threads of the pool. */
    pthread_t handler, supervisor;
    int control_fd;                    /* eventfd that wakes the supervisor */
    _Atomic uint32_t handler_running;  /* futex: the handler thread runs */
    _Atomic uint32_t supervisor_go;    /* futex: pthread_create returned */
    _Atomic uint32_t workers_ready;    /* futex: the first workers started */
    _Atomic uint32_t notes_pending;    /* deaths or cancels for the handler */
    _Atomic uint32_t workers_gone;     /* every worker has ended for good */
    _Atomic uint32_t handler_finished; /* futex: 1 once every result is out */
    _Atomic int live_threads;          /* POOL_THREADS */
    _Atomic uint32_t threads_ready;    /* futex: POOL_THREADS workers named */
    pthread_mutex_t join_lock;         /* one joiner at a time */
    bool joined;

    struct {
        _Atomic uint64_t submitted, completed, failed, worker_deaths,
            workers_started, callback_failures;
    } stats;
};

/* ---- pool_sync.c: spinning, then sleeping (futex.h) -------------------- */
/* A bounded spin before sleeping: a few microseconds of busy-waiting (the
 * other side runs on another core and answers within them), then
 * sched_yield() between looks, so that on a busy machine, where the other
 * side may be waiting for THIS core, spinning hands it the CPU instead of
 * burning the time slice it needs:
 *     struct spin spin = spin_begin(20000);
 *     while (!ready()) if (!spin_more(&spin)) { sleep properly; break; } */
struct spin {
    uint64_t busy_until, until;
    unsigned looks;
};
struct spin spin_begin(uint64_t nanoseconds);
bool spin_more(struct spin *spin);
/* Wait until *word == WAITER_DONE, spinning first.  false at the deadline. */
bool waiter_wait(_Atomic uint32_t *word, uint64_t spin_nanoseconds,
                 uint64_t deadline, bool shared);
/* Set *word to WAITER_DONE and wake whoever sleeps on it. */
void waiter_finish(_Atomic uint32_t *word, bool shared);

/* ---- pool_worker.c: the loop every worker runs ------------------------- */
void worker_loop(struct pool *pool, int slot, uint32_t incarnation,
                 uint32_t number);
/* Wake one sleeping worker, unless a worker is spinning (it will see the
 * task).  Called after a task is made visible. */
void wake_one_worker(struct pool *pool);
void wake_all_workers(struct pool *pool);
/* Wake every worker and the handler whether or not they look asleep.  A
 * process worker killed between taking a sleeper's bit (or the handler's
 * "asleep" flag) and its futex_wake() leaves that sleeper registered as
 * woken but still asleep, and nobody else would wake it: after a death the
 * supervisor calls these.  A needless wake-up costs one look around. */
void wake_every_slot(struct pool *pool);
void wake_handler(struct pool *pool);
/* Skip ring cells whose task is no longer QUEUED (cancelled); used by a
 * submitter that finds the ring full. */
void skip_dead_cells(struct pool *pool);
/* Tell the handler thread something arrived (a result, a death...). */
void notify_handler(struct pool *pool);
void mask_clear(_Atomic uint64_t *mask, int slot);
bool task_ring_has_task(struct pool *pool);

/* ---- pool_supervisor.c: starting, watching and ending workers ---------- */
void workers_start(struct pool *pool); /* from pool_create */
void workers_terminate(struct pool *pool);
void workers_finish(struct pool *pool); /* join what is left */
void supervisor_poke(struct pool *pool);

/* ---- pool_results.c: the result-handler thread ------------------------- */
void *handler_main(void *argument);
bool on_handler_thread(struct pool *pool);
/* Complete a handle: copy the result, mark it done, drop the pool's
 * reference. */
void handle_complete(struct pool_async *handle,
                     const struct pool_result *result);
void handle_unref(struct pool_async *handle);
/* Return entries to the free list (and wake a submitter waiting for one). */
void entries_free(struct pool *pool, const uint32_t *entries, int count);
/* End a waited-on task that no worker will finish: fill its result, mark
 * it DONE, wake its waiter. */
void waited_entry_end(struct pool *pool, uint32_t index, uint64_t state,
                      const struct pool_result *result);
/* The last workers have ended: end the waited-on tasks still queued
 * (pool_terminate), at once.  Called by whoever ends the last worker, just
 * before it sets workers_gone: not left to the handler, because the thread
 * waiting for such a task may be the handler itself, in a callback that
 * called pool_apply() or pool_map(). */
void cancel_waited_leftovers(struct pool *pool);
/* Fill a result for a task that never ran / whose worker died. */
void result_cancelled(struct pool_result *result, uint64_t ticket,
                      const char *why);
void result_worker_died(struct pool_result *result, uint64_t ticket,
                        const struct death *death);

#endif
