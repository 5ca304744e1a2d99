/* queue.c: the bounded queue shared by processes (see queue.h for the API).
 *
 * The design, and why:
 *
 *  - One MAP_SHARED anonymous mapping holds everything: the header, then a
 *    ring of `capacity` fixed-size slots, each a length and item_max bytes.
 *    Fixed slots keep put and get to one memcpy and no allocator in shared
 *    memory; a process-shared heap would need its own lock and its own crash
 *    recovery.
 *
 *  - Two process-shared, robust pthread mutexes: putters take the put lock,
 *    getters the get lock.  With one lock for both ends (this queue's first
 *    design), its cache line moved between the producer's core and the
 *    consumer's on every put and every get; with a lock per side, a
 *    producer and a consumer never touch the same lock.  The head, the
 *    tail, each lock and each side's cached copy of the other's index sit
 *    on cache lines of their own: a putter reads the real head only when
 *    its copy says full, a getter the real tail only when its copy says
 *    empty.  Measured on the 2-core AMD EPYC VM, one producer and one
 *    consumer process, 8-byte items, capacity 1024: 22.5 M items/s against
 *    11.2 M for a mutex + condvar queue between two threads in the same
 *    run (1.9x); with the single lock it was 7.9 M against 10.6 M (0.75x).
 *    At capacity 64: 15.5 M items/s (single lock: 5.9 M).
 *
 *  - Robust: if a holder dies, the next locker gets EOWNERDEAD instead of
 *    waiting forever.  What it then finds is always whole, because every
 *    change is committed by one store made last: put copies the item into
 *    the free slot, then advances `tail` (release); get copies the item
 *    out, then advances `head` (release).  A holder killed before the
 *    commit changed nothing anyone can see.  So the repair is only: check
 *    the invariant (the other side moves meanwhile, so head is read before
 *    and after tail), wake every sleeper, mark the mutex consistent.
 *
 *  - Sleeping uses Linux futexes on event counters, not pthread condition
 *    variables: glibc's process-shared condvar keeps per-waiter state
 *    inside the condvar, and a waiter SIGKILLed in pthread_cond_wait
 *    corrupts it (measured here, glibc 2.36: a live waiter then slept
 *    forever).  A futex keeps no state of ours in the kernel.  With no lock
 *    shared by the two sides, a wake-up cannot be ordered by a mutex; it is
 *    ordered by the store-buffering pattern (see wake_registered and the waiters
 *    below): the committer stores its index, fences, reads the
 *    registrations; a sleeper registers, fences, re-reads the index.  One
 *    of the two always sees the other, so no wake-up is lost.
 *
 *  - Wakers make a system call only when someone sleeps, and a wake-up
 *    wakes every sleeper of that side and clears the registrations: a
 *    sleeper that died costs one needless futex(WAKE), which clears it.
 *
 *  - Before sleeping, a waiter spins (adaptively, up to 50 us, without any
 *    lock), watching the other end's index: producer and consumer on two
 *    cores then hand items over through the cache alone.
 *
 *  - For diagnosis, queue_waiters() counts who sleeps through "presence"
 *    slots: a robust mutex each, held by a sleeper, released by the kernel
 *    at its death, so the dead are never counted.
 */
#define _GNU_SOURCE
#include "queue.h"

#include "checked.h"
#include "futex.h"
#include "timing.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum {
    CACHE_LINE = 64,
    /* Sleepers counted robustly; one beyond this many is counted in a
     * plain counter, which would keep counting it if it were killed. */
    PRESENCE_SLOTS = 64,
    /* How long a waiter spins before it sleeps: far longer than a put or
     * get on the other core takes (~0.2 us), and long enough to cover most
     * of a wake-up on a VM, where a sleeping vCPU can take tens of us to
     * run again.  Measured: 10 us gave ~3.7 M items/s at capacity 64,
     * 50 us ~4.7 M, 100 us ~5.2 M; it costs CPU only when the other end
     * is slow. */
    WAIT_SPIN_NANOSECONDS = 50000,
    /* Tries of a lock before blocking on it: the holder keeps it for a
     * memcpy and a few stores. */
    LOCK_SPINS = 100,
};

enum role { ROLE_NONE, ROLE_PUTTER, ROLE_GETTER };

/* One side of the ring: the putters, or the getters. */
struct side {
    /* Held by the one putter (getter) at work; robust. */
    pthread_mutex_t lock;
    /* The other end's index as this side last read it: head for the
     * putters, tail for the getters.  Only ever behind the real one, so
     * a stale copy can only make the queue look fuller (emptier) than it
     * is, and then it is read again.  Written holding `lock`. */
    atomic_uint_fast64_t seen;
};

/* The getters, or the putters, that sleep. */
struct sleepers {
    _Atomic uint32_t word; /* the futex word: changed to wake them */
    atomic_int to_wake;    /* registered since the last wake-up call */
    atomic_int unslotted;  /* asleep without a presence slot (all taken) */
};

struct presence {
    pthread_mutex_t mutex; /* held, robustly, by a registered sleeper */
    atomic_int role;       /* what its holder counted itself as */
};

/* Each group below is written by one side and read by the other as
 * rarely as the design allows, so each has a cache line of its own: a
 * line written on one core and read on the other moves between them. */
struct queue {
    /* Fixed at creation (closed: once), read by everyone: a line that
     * stays in every core's cache. */
    uint64_t capacity;
    size_t item_max, slot_size, mapping_size;
    atomic_bool closed;

    /* The putters' line: a single producer keeps it in its own cache. */
    _Alignas(CACHE_LINE) struct side put;
    /* head and tail count every get and put ever made (64 bits never
     * wrap); tail - head is the length.  tail is written by a putter
     * holding put.lock, head by a getter holding get.lock; the other side
     * reads it only when its `seen` copy says full (empty). */
    _Alignas(CACHE_LINE) atomic_uint_fast64_t tail;
    _Alignas(CACHE_LINE) struct side get;
    _Alignas(CACHE_LINE) atomic_uint_fast64_t head;

    /* Written only when someone goes to sleep or is woken; the other side
     * reads to_wake on every put (get). */
    _Alignas(CACHE_LINE) struct sleepers getters;
    _Alignas(CACHE_LINE) struct sleepers putters;

    _Alignas(CACHE_LINE) atomic_uint_fast64_t owner_deaths;
    atomic_int presence_used; /* slots [0, presence_used) have been used */
    struct presence presence[PRESENCE_SLOTS];

    _Alignas(CACHE_LINE) unsigned char ring[];
};

_Static_assert(sizeof(atomic_uint_fast64_t) == 8, "64-bit indexes");
_Static_assert(sizeof(struct side) <= CACHE_LINE,
               "a side's lock and its copy of the other index share one line");

struct slot_header {
    size_t length;
};

/* ---- Small tools --------------------------------------------------------- */

static inline uint64_t load(atomic_uint_fast64_t *word)
{
    return atomic_load_explicit(word, memory_order_relaxed);
}

static inline uint64_t load_acquire(atomic_uint_fast64_t *word)
{
    return atomic_load_explicit(word, memory_order_acquire);
}

static unsigned char *slot_at(struct queue *queue, uint64_t index)
{
    return queue->ring + (index % queue->capacity) * queue->slot_size;
}

static struct sleepers *sleepers_of(struct queue *queue, int role)
{
    return role == ROLE_GETTER ? &queue->getters : &queue->putters;
}

/* ---- Waking ------------------------------------------------------------- */

/* Called by a putter (getter) right after its commit, still holding its
 * side's lock: wake the getters (putters) if one has registered to sleep
 * since the last wake-up call.
 *
 * Why no sleeper is missed, with no lock shared by the two sides: the
 * committer stores its index, then (fence) reads to_wake; a sleeper
 * increments to_wake, then (fence) reads the word and the index again,
 * and sleeps only if the index has not moved.  Two seq_cst fences put the
 * two stores and the two loads in one order, so at least one of them sees
 * the other's store: the committer sees the registration (and wakes), or
 * the sleeper sees the new index (and does not sleep), or both.  And a
 * sleeper that reads the word after this function bumped it also sees the
 * commit (the fence before the bump is a release, the sleeper's load an
 * acquire), while one that read it before is either woken by futex_wake
 * or finds the word changed when it calls FUTEX_WAIT.
 *
 * It wakes them all, and then only if one has registered since the last
 * wake-up call.  Waking all means a woken sleeper need not be tracked: each
 * one re-checks and sleeps again if another took the item, and one that
 * dies before re-checking takes no one's wake-up with it.  Waking only new
 * registrations matters for speed: a sleeper needs microseconds to wake up,
 * and the other end, meanwhile running at full speed, would otherwise make
 * a futex call on every put or get (measured with the one-lock queue: 60
 * calls per sleep, and runs that fell from 5 M items/s to 1 M).
 *
 * The system call is made holding our side's lock, which the woken do not
 * need: they take the other side's.  So it delays only our own side, and
 * a caller killed anywhere between its commit and the wake-up dies holding
 * the lock, and the next holder's repair wakes everyone in its place. */
static void wake_registered(struct sleepers *sleepers)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&sleepers->to_wake, memory_order_relaxed) == 0)
        return;
    if (atomic_exchange_explicit(&sleepers->to_wake, 0,
                                 memory_order_relaxed) == 0)
        return;
    atomic_fetch_add_explicit(&sleepers->word, 1, memory_order_release);
    futex_wake(&sleepers->word, INT_MAX, true);
}

/* Wake every sleeper of both sides, registered or about to be: after a
 * death, and at close.  Whatever the caller changed before calling this is
 * seen by a sleeper that reads the new word (seq_cst bump), and one that
 * read the old word is woken. */
static void wake_everyone(struct queue *queue)
{
    struct sleepers *all[2] = {&queue->getters, &queue->putters};
    for (int i = 0; i < 2; i++) {
        atomic_store(&all[i]->to_wake, 0);
        atomic_fetch_add(&all[i]->word, 1);
        futex_wake(&all[i]->word, INT_MAX, true);
    }
}

/* ---- The locks, and their repair ---------------------------------------- */

/* The previous holder of `side`'s lock died holding it.  Called holding it.
 * Our side's index cannot move (we hold the lock); the other side's can,
 * and only grows, so it is read before and after ours: the invariant
 * head <= tail <= head + capacity held at the instant ours was read for
 * some value of theirs between the two readings. */
static void repair(struct queue *queue, struct side *side)
{
    uint64_t head_low, head_high, tail_low, tail_high;
    if (side == &queue->put) {
        head_low = load_acquire(&queue->head);
        tail_low = tail_high = load(&queue->tail);
        head_high = load_acquire(&queue->head);
    } else {
        tail_low = load_acquire(&queue->tail);
        head_low = head_high = load(&queue->head);
        tail_high = load_acquire(&queue->tail);
    }
    /* Every commit is one store, so this cannot break; if it does, the
     * memory was overwritten by something else and nothing can be trusted. */
    if (head_low > tail_high || tail_low - head_high > queue->capacity)
        die_at(__FILE__, __LINE__, "queue: ring indexes corrupt after a death",
               ENOTRECOVERABLE);
    /* The dead holder's copy of the other index was behind the truth, but
     * reading it now would not be ordered after what it copied: start from
     * what we just read (acquire) instead. */
    atomic_store_explicit(&side->seen,
                          side == &queue->put ? head_low : tail_low,
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&queue->owner_deaths, 1, memory_order_relaxed);
    /* It may have committed and died before waking anyone: wake everyone;
     * each re-checks and sleeps again if it must. */
    wake_everyone(queue);
    CHECK_PT(pthread_mutex_consistent(&side->lock));
}

static void side_lock(struct queue *queue, struct side *side)
{
    int rc = EBUSY;
    for (int i = 0; i < LOCK_SPINS && rc == EBUSY; i++) {
        rc = pthread_mutex_trylock(&side->lock);
        if (rc == EBUSY)
            cpu_relax();
    }
    if (rc == EBUSY)
        rc = pthread_mutex_lock(&side->lock);
    if (rc == EOWNERDEAD)
        repair(queue, side);
    else if (rc != 0)
        die_at(__FILE__, __LINE__, "pthread_mutex_lock(queue)", rc);
}

static void side_unlock(struct side *side)
{
    CHECK_PT(pthread_mutex_unlock(&side->lock));
}

/* ---- Presence slots: counting sleepers so that death uncounts them ---- */

/* Called holding a presence mutex whose last holder died (EOWNERDEAD):
 * it no longer sleeps anywhere. */
static void bury(struct presence *presence)
{
    atomic_store(&presence->role, ROLE_NONE);
    CHECK_PT(pthread_mutex_consistent(&presence->mutex));
}

/* Take a free presence slot.  Returns it, or NULL when all are taken. */
static struct presence *presence_claim(struct queue *queue)
{
    for (int i = 0; i < PRESENCE_SLOTS; i++) {
        struct presence *presence = &queue->presence[i];
        int rc = pthread_mutex_trylock(&presence->mutex);
        if (rc == EBUSY)
            continue;
        if (rc == EOWNERDEAD)
            bury(presence);
        else if (rc != 0)
            die_at(__FILE__, __LINE__, "pthread_mutex_trylock(presence)", rc);
        int used = atomic_load(&queue->presence_used);
        while (used < i + 1 &&
               !atomic_compare_exchange_weak(&queue->presence_used, &used,
                                             i + 1))
            ;
        return presence;
    }
    return NULL;
}

/* ---- Waiting ------------------------------------------------------------- */

/* The spin adapts, per thread: a spin that saw the other end move doubles
 * the budget (up to WAIT_SPIN_NANOSECONDS); one that ran out halves it;
 * below SPIN_MIN_NANOSECONDS spinning stops for SPIN_PAUSE_WAITS waits.
 * Spinning pays only while the other end is running on another core; on
 * a busy machine (the other end preempted) or with one CPU, each spin is
 * a time slice taken from the process it waits for: measured on a 2-core
 * VM under a load of 9, a fixed 50 us spin made capacity 64 run at
 * ~0.18 M items/s, against ~1.5 M for a plain mutex + condvar queue
 * between two threads.  With one CPU the spin is skipped altogether. */
enum { SPIN_MIN_NANOSECONDS = 2000, SPIN_PAUSE_WAITS = 64 };
static __thread uint64_t spin_budget = WAIT_SPIN_NANOSECONDS;
static __thread unsigned spin_pause;
static int spin_cpus; /* CPUs this process may use (0: not read yet) */

/* How long to spin now: 0 while paused or on one CPU. */
static uint64_t spin_allowance(void)
{
    int cpus = __atomic_load_n(&spin_cpus, __ATOMIC_RELAXED);
    if (cpus == 0) {
        cpu_set_t set;
        cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : 1;
        __atomic_store_n(&spin_cpus, cpus, __ATOMIC_RELAXED);
    }
    if (cpus < 2)
        return 0;
    if (spin_pause > 0) {
        spin_pause--;
        return 0;
    }
    return spin_budget;
}

static void spin_result(bool seen)
{
    if (seen) {
        spin_budget = spin_budget * 2 > WAIT_SPIN_NANOSECONDS
                          ? WAIT_SPIN_NANOSECONDS
                          : spin_budget * 2;
    } else if ((spin_budget /= 2) < SPIN_MIN_NANOSECONDS) {
        spin_budget = WAIT_SPIN_NANOSECONDS;
        spin_pause = SPIN_PAUSE_WAITS;
    }
}

/* Called holding no lock, when the caller must wait for the other end:
 * for `*watched` (tail for a getter, head for a putter) to move on from
 * `seen`, or for close().  Returns after a change, a wake-up, a signal,
 * the deadline, or spuriously: the caller re-checks. */
static void wait_for_change(struct queue *queue, atomic_uint_fast64_t *watched,
                            uint64_t seen, int role, uint64_t deadline)
{
    /* Spin first, without registering, so the other end does not pay for
     * a wake-up call either. */
    uint64_t allowance = spin_allowance();
    uint64_t spin_until = clock_nanoseconds() + allowance;
    if (spin_until > deadline)
        spin_until = deadline;
    for (int i = 1; allowance > 0; i++) {
        if (load(watched) != seen ||
            atomic_load_explicit(&queue->closed, memory_order_relaxed))
            break;
        cpu_relax();
        if (i % 16 == 0 && clock_nanoseconds() >= spin_until)
            break;
    }
    if (allowance > 0)
        spin_result(load(watched) != seen);
    if (load(watched) != seen ||
        atomic_load_explicit(&queue->closed, memory_order_relaxed) ||
        deadline_passed(deadline))
        return;

    /* Sleep: register, then look again, then sleep on the ticket (see
     * wake_registered for why this order misses no wake-up). */
    struct presence *presence = presence_claim(queue);
    struct sleepers *sleepers = sleepers_of(queue, role);
    if (presence != NULL)
        atomic_store(&presence->role, role);
    else
        atomic_fetch_add(&sleepers->unslotted, 1);
    atomic_fetch_add_explicit(&sleepers->to_wake, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    uint32_t ticket =
        atomic_load_explicit(&sleepers->word, memory_order_acquire);
    if (load(watched) == seen &&
        !atomic_load_explicit(&queue->closed, memory_order_acquire))
        futex_wait_until(&sleepers->word, ticket, deadline, true);
    /* A registration left behind when we did not sleep, or were woken by
     * a signal or the deadline, costs the other end one needless wake-up
     * call, which clears it: taking it back could take back someone
     * else's. */

    if (presence != NULL) {
        atomic_store(&presence->role, ROLE_NONE);
        CHECK_PT(pthread_mutex_unlock(&presence->mutex));
    } else {
        atomic_fetch_sub(&sleepers->unslotted, 1);
    }
}

/* ---- The API ------------------------------------------------------------- */

struct queue *queue_create(size_t capacity, size_t item_max)
{
    if (capacity == 0)
        die_at(__FILE__, __LINE__, "queue_create: capacity must be >= 1",
               EINVAL);
    size_t slot_size = sizeof(struct slot_header) + item_max;
    if (slot_size < item_max)
        die_at(__FILE__, __LINE__, "queue_create: item_max too large", EINVAL);
    /* Slots stay aligned for the length field and for any item type. */
    slot_size = (slot_size + 7) & ~(size_t)7;
    size_t header = sizeof(struct queue);
    if (capacity > (SIZE_MAX - header) / slot_size)
        die_at(__FILE__, __LINE__, "queue_create: capacity x item_max too large",
               EINVAL);
    size_t mapping_size = header + capacity * slot_size;
    /* MAP_POPULATE: the pages exist now, so the first lap of the ring in
     * a measured loop does not pay a page fault per 4 KiB. */
    struct queue *queue = CHECK_PTR(
        mmap(NULL, mapping_size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0),
        MAP_FAILED);
    queue->capacity = capacity;
    queue->item_max = item_max;
    queue->slot_size = slot_size;
    queue->mapping_size = mapping_size;
    atomic_init(&queue->closed, false);

    pthread_mutexattr_t attributes;
    CHECK_PT(pthread_mutexattr_init(&attributes));
    CHECK_PT(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST));
    CHECK_PT(pthread_mutex_init(&queue->put.lock, &attributes));
    CHECK_PT(pthread_mutex_init(&queue->get.lock, &attributes));
    for (int i = 0; i < PRESENCE_SLOTS; i++) {
        CHECK_PT(pthread_mutex_init(&queue->presence[i].mutex, &attributes));
        atomic_init(&queue->presence[i].role, ROLE_NONE);
    }
    CHECK_PT(pthread_mutexattr_destroy(&attributes));
    atomic_init(&queue->put.seen, 0);
    atomic_init(&queue->get.seen, 0);
    atomic_init(&queue->head, 0);
    atomic_init(&queue->tail, 0);
    struct sleepers *all[2] = {&queue->getters, &queue->putters};
    for (int i = 0; i < 2; i++) {
        atomic_init(&all[i]->word, 0);
        atomic_init(&all[i]->to_wake, 0);
        atomic_init(&all[i]->unslotted, 0);
    }
    atomic_init(&queue->owner_deaths, 0);
    atomic_init(&queue->presence_used, 0);
    return queue;
}

void queue_destroy(struct queue *queue)
{
    if (queue == NULL)
        return;
    CHECK_PT(pthread_mutex_destroy(&queue->put.lock));
    CHECK_PT(pthread_mutex_destroy(&queue->get.lock));
    for (int i = 0; i < PRESENCE_SLOTS; i++)
        CHECK_PT(pthread_mutex_destroy(&queue->presence[i].mutex));
    CHECK(munmap(queue, queue->mapping_size));
}

/* Called holding put.lock: is there a free slot at `tail`?  The real head
 * is read only when our copy says full (acquire: the getter that freed a
 * slot has finished reading it before we overwrite it). */
static bool has_room(struct queue *queue, uint64_t tail)
{
    uint64_t head = load(&queue->put.seen);
    if (tail - head < queue->capacity)
        return true;
    head = load_acquire(&queue->head);
    atomic_store_explicit(&queue->put.seen, head, memory_order_relaxed);
    return tail - head < queue->capacity;
}

/* Called holding get.lock: is there an item at `head`?  The real tail is
 * read only when our copy says empty (acquire: the putter's copy into the
 * slot is complete before we read it). */
static bool has_item(struct queue *queue, uint64_t head)
{
    uint64_t tail = load(&queue->get.seen);
    if (tail != head)
        return true;
    tail = load_acquire(&queue->tail);
    atomic_store_explicit(&queue->get.seen, tail, memory_order_relaxed);
    return tail != head;
}

enum queue_status queue_put(struct queue *queue, const void *item, size_t size,
                            double timeout)
{
    if (size > queue->item_max)
        return QUEUE_TOO_BIG;
    uint64_t deadline = deadline_after(timeout);
    enum queue_status status = QUEUE_OK;
    side_lock(queue, &queue->put);
    uint64_t tail;
    for (;;) {
        /* Only a holder of put.lock writes tail, and close() sets closed
         * holding it too: a put either commits before the close or sees
         * it. */
        tail = load(&queue->tail);
        if (atomic_load_explicit(&queue->closed, memory_order_relaxed))
            status = QUEUE_CLOSED;
        else if (has_room(queue, tail))
            break;
        else if (timeout == 0)
            status = QUEUE_FULL;
        else if (deadline_passed(deadline))
            status = QUEUE_TIMEOUT;
        else {
            /* Wait without the lock: the other putters may give up (a
             * timeout) or be woken by close() meanwhile. */
            uint64_t head = load(&queue->put.seen);
            side_unlock(&queue->put);
            wait_for_change(queue, &queue->head, head, ROLE_PUTTER, deadline);
            side_lock(queue, &queue->put);
            continue;
        }
        side_unlock(&queue->put);
        return status;
    }
    unsigned char *slot = slot_at(queue, tail);
    struct slot_header header = {.length = size};
    memcpy(slot, &header, sizeof header);
    if (size > 0)
        memcpy(slot + sizeof header, item, size);
    /* The commit: the item is in the queue from this store on (release:
     * with it, the copy above). */
    atomic_store_explicit(&queue->tail, tail + 1, memory_order_release);
    wake_registered(&queue->getters);
    side_unlock(&queue->put);
    return QUEUE_OK;
}

enum queue_status queue_get(struct queue *queue, void *item, size_t capacity,
                            size_t *size, double timeout)
{
    uint64_t deadline = deadline_after(timeout);
    enum queue_status status = QUEUE_OK;
    side_lock(queue, &queue->get);
    uint64_t head;
    for (;;) {
        head = load(&queue->head); /* only a holder of get.lock writes it */
        if (has_item(queue, head))
            break; /* items first, even after close: drain */
        /* Closed, and then still empty: a put that returned OK committed
         * before close() set closed (both hold put.lock), so once we have
         * seen closed (acquire), a re-read of tail shows its item. */
        if (atomic_load_explicit(&queue->closed, memory_order_acquire)) {
            if (has_item(queue, head))
                break;
            status = QUEUE_CLOSED;
        } else if (timeout == 0)
            status = QUEUE_EMPTY;
        else if (deadline_passed(deadline))
            status = QUEUE_TIMEOUT;
        else {
            side_unlock(&queue->get);
            wait_for_change(queue, &queue->tail, head, ROLE_GETTER, deadline);
            side_lock(queue, &queue->get);
            continue;
        }
        side_unlock(&queue->get);
        return status;
    }
    const unsigned char *slot = slot_at(queue, head);
    struct slot_header header;
    memcpy(&header, slot, sizeof header);
    /* A committed slot is always whole (see the top of this file). */
    if (header.length > queue->item_max)
        die_at(__FILE__, __LINE__, "queue: a committed slot is corrupt",
               ENOTRECOVERABLE);
    if (header.length > capacity) {
        side_unlock(&queue->get);
        return QUEUE_TOO_BIG; /* it stays at the front */
    }
    if (header.length > 0)
        memcpy(item, slot + sizeof header, header.length);
    /* The commit: the slot is free from this store on (release: our copy
     * out is complete before a putter may overwrite it). */
    atomic_store_explicit(&queue->head, head + 1, memory_order_release);
    wake_registered(&queue->putters);
    side_unlock(&queue->get);
    if (size != NULL)
        *size = header.length;
    return QUEUE_OK;
}

void queue_close(struct queue *queue)
{
    side_lock(queue, &queue->put);
    atomic_store_explicit(&queue->closed, true, memory_order_release);
    /* Every sleeper must see this, counted or not: close happens once, so
     * waking everyone unconditionally costs nothing that matters. */
    wake_everyone(queue);
    side_unlock(&queue->put);
}

size_t queue_length(struct queue *queue)
{
    /* Without the locks: head and tail only grow.  If tail did not move
     * while head was read, tail - head was the length at that instant. */
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t tail = load(&queue->tail);
        uint64_t head = load(&queue->head);
        if (load(&queue->tail) == tail && head <= tail)
            return (size_t)(tail - head);
    }
    uint64_t head = load(&queue->head), tail = load(&queue->tail);
    uint64_t length = tail > head ? tail - head : 0;
    return (size_t)(length < queue->capacity ? length : queue->capacity);
}

const char *queue_status_name(enum queue_status status)
{
    switch (status) {
    case QUEUE_OK: return "OK";
    case QUEUE_FULL: return "FULL";
    case QUEUE_EMPTY: return "EMPTY";
    case QUEUE_TIMEOUT: return "TIMEOUT";
    case QUEUE_CLOSED: return "CLOSED";
    case QUEUE_TOO_BIG: return "TOO_BIG";
    }
    return "UNKNOWN";
}

struct queue_waiters queue_waiters(struct queue *queue)
{
    struct queue_waiters waiters = {
        .putters = atomic_load(&queue->putters.unslotted),
        .getters = atomic_load(&queue->getters.unslotted),
    };
    int used = atomic_load(&queue->presence_used);
    for (int i = 0; i < used; i++) {
        struct presence *presence = &queue->presence[i];
        int role = atomic_load(&presence->role);
        if (role == ROLE_NONE)
            continue;
        /* Held: its owner is alive, and sleeps (or is just going to sleep,
         * or just woke up).  Not held: it just left, or died. */
        int rc = pthread_mutex_trylock(&presence->mutex);
        if (rc == EBUSY) {
            if (role == ROLE_GETTER)
                waiters.getters++;
            else
                waiters.putters++;
            continue;
        }
        if (rc == EOWNERDEAD)
            bury(presence);
        else if (rc != 0)
            die_at(__FILE__, __LINE__, "pthread_mutex_trylock(presence)", rc);
        CHECK_PT(pthread_mutex_unlock(&presence->mutex));
    }
    return waiters;
}

uint64_t queue_owner_deaths(struct queue *queue)
{
    return atomic_load(&queue->owner_deaths);
}
