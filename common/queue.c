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
 *  - One process-shared, robust pthread mutex guards the ring.  Robust: if
 *    its holder dies, the next locker gets EOWNERDEAD instead of waiting
 *    forever.  What it then finds is always whole, because every change is
 *    committed by one store made last: put copies the item into the free
 *    slot, then advances `tail`; get copies the item out, then advances
 *    `head`.  A holder killed before the commit changed nothing anyone can
 *    see (a half-written slot is not in the queue yet; a half-read item is
 *    still at the front), and one killed after it finished its work.  So
 *    the repair is only: check the invariant, wake every sleeper (the dead
 *    holder may have committed without waking anyone), mark it consistent.
 *
 *  - Sleeping uses Linux futexes on two event counters, not pthread
 *    condition variables.  glibc's process-shared condvar keeps per-waiter
 *    state inside the condvar, and a waiter SIGKILLed in pthread_cond_wait
 *    corrupts it: measured here (glibc 2.36), once a waiter had been killed,
 *    the second pthread_cond_signal after that woke nobody, and a live
 *    waiter slept forever.  A futex keeps no state of ours in the kernel, and a dead
 *    sleeper simply leaves the kernel's wait list.  The waiter reads the
 *    counter under the mutex, unlocks, and sleeps only if the counter still
 *    has that value (FUTEX_WAIT compares atomically); a waker changes the
 *    counter under the mutex.  So a wake-up can never fall between the
 *    check and the sleep.  FUTEX_WAIT_BITSET takes an absolute
 *    CLOCK_MONOTONIC deadline: an EINTR or a spurious wake-up just loops
 *    and waits again until the same deadline, and clock jumps do not matter.
 *
 *  - Wakers make a system call only when someone sleeps: a sleeper
 *    registers under the mutex (getters_to_wake, putters_to_wake), and a
 *    put or get reads that before deciding to call futex(WAKE).  A wake-up
 *    call wakes every sleeper of that side and clears the registrations, so
 *    while the woken sleeper is still getting up, the other end does not
 *    call again (note_change_for says why this matters).
 *
 *  - Before sleeping, a waiter spins for up to 50 us (less, or not at all,
 *    when recent spins were in vain: see "The spin adapts"), watching the
 *    other end's index without the lock.  A producer and a consumer on two cores
 *    then hand items over through the cache alone; a sleep and a wake-up
 *    cost system calls and a context switch each.  Measured on the 2-core
 *    VM, 1 producer and 1 consumer process, 8-byte items, capacity 64:
 *    ~5 M items/s with it, 2.2 M without (and 52 k/s at capacity 1, where
 *    every item would be a sleep and a wake-up).  Taking the mutex also
 *    tries a hundred times (trylock) before blocking, because glibc's
 *    robust mutex does not spin by itself and goes to the kernel on any
 *    contention: without that, 1.6 M items/s.
 *
 *  - For diagnosis, queue_waiters() counts who sleeps.  A counter would
 *    be wrong after a death: a sleeper killed in its sleep never gets to
 *    uncount itself.  So each sleeper holds a "presence" slot instead: a
 *    robust mutex of its own, and the side it sleeps on.  queue_waiters()
 *    counts the slots held by a live owner (trylock: EBUSY); the kernel
 *    releases a dead owner's slot at its death (EOWNERDEAD for the next
 *    taker), so the dead are never counted, at any instant.  The wake-up
 *    logic does not depend on this: a dead sleeper's registration in
 *    to_wake costs one needless futex(WAKE) call, and is cleared by it.
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
    /* Tries of the lock before blocking on it: the holder keeps it for a
     * memcpy and a few stores. */
    LOCK_SPINS = 100,
};

enum role { ROLE_NONE, ROLE_PUTTER, ROLE_GETTER };

/* The getters, or the putters, that sleep. */
struct sleepers {
    _Atomic uint32_t word; /* the futex word: changed to wake them */
    atomic_int unslotted;  /* asleep without a presence slot (all taken) */
};

struct presence {
    pthread_mutex_t mutex; /* held, robustly, by a registered sleeper */
    atomic_int role;       /* what its holder counted itself as */
};

struct queue {
    /* Fixed at creation. */
    uint64_t capacity;
    size_t item_max, slot_size, mapping_size;

    /* Every put and get touches these: one cache line, so one transfer
     * between cores per operation.  head and tail count every get and put
     * ever made (64 bits never wrap); tail - head is the length.  They are
     * written under the mutex and read without it while spinning, hence
     * atomics (relaxed: the mutex orders everything that matters). */
    _Alignas(CACHE_LINE) pthread_mutex_t mutex;
    atomic_uint_fast64_t head, tail;
    /* Sleepers registered since the last wake-up call (note_change_for). */
    atomic_int getters_to_wake, putters_to_wake;

    _Alignas(CACHE_LINE) struct sleepers getters, putters;
    atomic_bool closed;
    atomic_uint_fast64_t owner_deaths;
    atomic_int presence_used; /* slots [0, presence_used) have been used */
    struct presence presence[PRESENCE_SLOTS];

    _Alignas(CACHE_LINE) unsigned char ring[];
};

_Static_assert(sizeof(atomic_uint_fast64_t) == 8, "64-bit indexes");
_Static_assert(offsetof(struct queue, putters_to_wake) + sizeof(atomic_int) -
                       offsetof(struct queue, mutex) <=
                   CACHE_LINE,
               "the fields every put and get touches fit in one cache line");

struct slot_header {
    size_t length;
};

/* ---- Small tools --------------------------------------------------------- */

static inline uint64_t load(atomic_uint_fast64_t *word)
{
    return atomic_load_explicit(word, memory_order_relaxed);
}

static unsigned char *slot_at(struct queue *queue, uint64_t index)
{
    return queue->ring + (index % queue->capacity) * queue->slot_size;
}

/* Wake every sleeper, registered or about to be (called holding the lock:
 * a sleeper compares its ticket with the word, so one that reads the
 * word before this change will not sleep on it). */
static void wake_everyone(struct queue *queue)
{
    atomic_store_explicit(&queue->getters_to_wake, 0, memory_order_relaxed);
    atomic_store_explicit(&queue->putters_to_wake, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&queue->getters.word, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&queue->putters.word, 1, memory_order_relaxed);
    futex_wake(&queue->getters.word, INT_MAX, true);
    futex_wake(&queue->putters.word, INT_MAX, true);
}

/* ---- The lock, and its repair ------------------------------------------ */

/* The previous holder died holding the lock.  Called holding it. */
static void repair(struct queue *queue)
{
    uint64_t head = load(&queue->head), tail = load(&queue->tail);
    /* Every commit is one store, so this cannot break; if it does, the
     * memory was overwritten by something else and nothing can be trusted. */
    if (head > tail || tail - head > queue->capacity)
        die_at(__FILE__, __LINE__, "queue: ring indexes corrupt after a death",
               ENOTRECOVERABLE);
    atomic_fetch_add_explicit(&queue->owner_deaths, 1, memory_order_relaxed);
    /* It may have committed a put or get and died before waking anyone:
     * wake everyone; each re-checks and sleeps again if it must. */
    wake_everyone(queue);
    CHECK_PT(pthread_mutex_consistent(&queue->mutex));
}

static void queue_lock(struct queue *queue)
{
    int rc = EBUSY;
    for (int i = 0; i < LOCK_SPINS && rc == EBUSY; i++) {
        rc = pthread_mutex_trylock(&queue->mutex);
        if (rc == EBUSY)
            cpu_relax();
    }
    if (rc == EBUSY)
        rc = pthread_mutex_lock(&queue->mutex);
    if (rc == EOWNERDEAD)
        repair(queue);
    else if (rc != 0)
        die_at(__FILE__, __LINE__, "pthread_mutex_lock(queue)", rc);
}

static void queue_unlock(struct queue *queue)
{
    CHECK_PT(pthread_mutex_unlock(&queue->mutex));
}

/* ---- Presence slots: counting sleepers so that death uncounts them ---- */

static struct sleepers *sleepers_of(struct queue *queue, int role)
{
    return role == ROLE_GETTER ? &queue->getters : &queue->putters;
}

static atomic_int *to_wake(struct queue *queue, int role)
{
    return role == ROLE_GETTER ? &queue->getters_to_wake
                               : &queue->putters_to_wake;
}

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

/* Called holding the lock, when the caller must wait for the other end:
 * for `*watched` (tail for a getter, head for a putter) to move on from
 * `seen`, or for close().  Returns holding the lock again, after a change,
 * a wake-up, a signal, the deadline, or spuriously: the caller re-checks. */
static void wait_for_change(struct queue *queue, atomic_uint_fast64_t *watched,
                            uint64_t seen, int role, uint64_t deadline)
{
    queue_unlock(queue);

    /* Spin first, without the lock and without registering, so the other
     * end does not pay for a wake-up call either. */
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
        deadline_passed(deadline)) {
        queue_lock(queue);
        return;
    }

    /* Sleep.  The presence slot is taken before the lock, so the lock is
     * not held while looking for one. */
    struct presence *presence = presence_claim(queue);
    struct sleepers *sleepers = sleepers_of(queue, role);
    queue_lock(queue);
    if (load(watched) != seen ||
        atomic_load_explicit(&queue->closed, memory_order_relaxed)) {
        if (presence != NULL)
            CHECK_PT(pthread_mutex_unlock(&presence->mutex));
        return;
    }
    /* Registered under the lock, so a waker (also under the lock) either
     * sees us in to_wake, or changed the queue before we looked at it. */
    atomic_fetch_add_explicit(to_wake(queue, role), 1, memory_order_relaxed);
    if (presence != NULL)
        atomic_store(&presence->role, role);
    else
        atomic_fetch_add(&sleepers->unslotted, 1);
    uint32_t ticket = atomic_load_explicit(&sleepers->word,
                                           memory_order_relaxed);
    queue_unlock(queue);

    futex_wait_until(&sleepers->word, ticket, deadline, true);

    if (presence != NULL) {
        atomic_store(&presence->role, ROLE_NONE);
        CHECK_PT(pthread_mutex_unlock(&presence->mutex));
    } else {
        atomic_fetch_sub(&sleepers->unslotted, 1);
    }
    queue_lock(queue);
}

/* Called holding the lock after a change that the sleepers of `role` wait
 * for.  Returns the futex word to wake once the lock is released, or NULL.
 *
 * It wakes them all, and only if one has registered since the last wake-up
 * call.  Waking all means a woken sleeper need not be tracked: each one
 * re-checks and sleeps again if another took the item, and one that dies
 * before re-checking takes no one's wake-up with it.  Waking only new
 * registrations matters for speed: a sleeper needs microseconds to wake up
 * and retake the lock, and the other end, meanwhile running at full speed,
 * would otherwise make a futex call on every put or get (measured: 60 calls
 * per sleep, and runs that fell from 5 M items/s to 1 M). */
static _Atomic uint32_t *note_change_for(struct queue *queue, int role)
{
    atomic_int *pending = to_wake(queue, role);
    if (atomic_load_explicit(pending, memory_order_relaxed) == 0)
        return NULL;
    atomic_store_explicit(pending, 0, memory_order_relaxed);
    _Atomic uint32_t *word = &sleepers_of(queue, role)->word;
    atomic_fetch_add_explicit(word, 1, memory_order_relaxed);
    return word;
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

    pthread_mutexattr_t attributes;
    CHECK_PT(pthread_mutexattr_init(&attributes));
    CHECK_PT(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST));
    CHECK_PT(pthread_mutex_init(&queue->mutex, &attributes));
    for (int i = 0; i < PRESENCE_SLOTS; i++) {
        CHECK_PT(pthread_mutex_init(&queue->presence[i].mutex, &attributes));
        atomic_init(&queue->presence[i].role, ROLE_NONE);
    }
    CHECK_PT(pthread_mutexattr_destroy(&attributes));
    atomic_init(&queue->head, 0);
    atomic_init(&queue->tail, 0);
    atomic_init(&queue->getters_to_wake, 0);
    atomic_init(&queue->putters_to_wake, 0);
    atomic_init(&queue->getters.word, 0);
    atomic_init(&queue->getters.unslotted, 0);
    atomic_init(&queue->putters.word, 0);
    atomic_init(&queue->putters.unslotted, 0);
    atomic_init(&queue->closed, false);
    atomic_init(&queue->owner_deaths, 0);
    atomic_init(&queue->presence_used, 0);
    return queue;
}

void queue_destroy(struct queue *queue)
{
    if (queue == NULL)
        return;
    CHECK_PT(pthread_mutex_destroy(&queue->mutex));
    for (int i = 0; i < PRESENCE_SLOTS; i++)
        CHECK_PT(pthread_mutex_destroy(&queue->presence[i].mutex));
    CHECK(munmap(queue, queue->mapping_size));
}

enum queue_status queue_put(struct queue *queue, const void *item, size_t size,
                            double timeout)
{
    if (size > queue->item_max)
        return QUEUE_TOO_BIG;
    uint64_t deadline = deadline_after(timeout);
    enum queue_status status = QUEUE_OK;
    queue_lock(queue);
    for (;;) {
        uint64_t head = load(&queue->head), tail = load(&queue->tail);
        if (atomic_load_explicit(&queue->closed, memory_order_relaxed))
            status = QUEUE_CLOSED;
        else if (tail - head < queue->capacity)
            break;
        else if (timeout == 0)
            status = QUEUE_FULL;
        else if (deadline_passed(deadline))
            status = QUEUE_TIMEOUT;
        else {
            wait_for_change(queue, &queue->head, head, ROLE_PUTTER, deadline);
            continue;
        }
        queue_unlock(queue);
        return status;
    }
    uint64_t tail = load(&queue->tail);
    unsigned char *slot = slot_at(queue, tail);
    struct slot_header header = {.length = size};
    memcpy(slot, &header, sizeof header);
    if (size > 0)
        memcpy(slot + sizeof header, item, size);
    /* The commit: the item is in the queue from this store on. */
    atomic_store_explicit(&queue->tail, tail + 1, memory_order_relaxed);
    _Atomic uint32_t *wake = note_change_for(queue, ROLE_GETTER);
    queue_unlock(queue);
    if (wake != NULL)
        /* after unlocking: no waiting for us */
        futex_wake(wake, INT_MAX, true);
    return QUEUE_OK;
}

enum queue_status queue_get(struct queue *queue, void *item, size_t capacity,
                            size_t *size, double timeout)
{
    uint64_t deadline = deadline_after(timeout);
    enum queue_status status = QUEUE_OK;
    queue_lock(queue);
    for (;;) {
        uint64_t head = load(&queue->head), tail = load(&queue->tail);
        if (head != tail)
            break; /* items first, even after close: drain */
        else if (atomic_load_explicit(&queue->closed, memory_order_relaxed))
            status = QUEUE_CLOSED;
        else if (timeout == 0)
            status = QUEUE_EMPTY;
        else if (deadline_passed(deadline))
            status = QUEUE_TIMEOUT;
        else {
            wait_for_change(queue, &queue->tail, tail, ROLE_GETTER, deadline);
            continue;
        }
        queue_unlock(queue);
        return status;
    }
    uint64_t head = load(&queue->head);
    const unsigned char *slot = slot_at(queue, head);
    struct slot_header header;
    memcpy(&header, slot, sizeof header);
    /* A committed slot is always whole (see the top of this file). */
    if (header.length > queue->item_max)
        die_at(__FILE__, __LINE__, "queue: a committed slot is corrupt",
               ENOTRECOVERABLE);
    if (header.length > capacity) {
        queue_unlock(queue);
        return QUEUE_TOO_BIG; /* it stays at the front */
    }
    if (header.length > 0)
        memcpy(item, slot + sizeof header, header.length);
    /* The commit: the slot is free from this store on. */
    atomic_store_explicit(&queue->head, head + 1, memory_order_relaxed);
    _Atomic uint32_t *wake = note_change_for(queue, ROLE_PUTTER);
    queue_unlock(queue);
    if (wake != NULL)
        futex_wake(wake, INT_MAX, true);
    if (size != NULL)
        *size = header.length;
    return QUEUE_OK;
}

void queue_close(struct queue *queue)
{
    queue_lock(queue);
    atomic_store_explicit(&queue->closed, true, memory_order_relaxed);
    /* Every sleeper must see this, counted or not: close happens once, so
     * waking everyone unconditionally costs nothing that matters. */
    wake_everyone(queue);
    queue_unlock(queue);
}

size_t queue_length(struct queue *queue)
{
    /* Without the lock: head and tail only grow.  If tail did not move
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
