/* pool_worker.c: the loop every pool worker runs, process or thread alike.
 *
 * Claim a task from the task ring, run it, commit its result, repeat; spin
 * a little when there is nothing to do, then sleep on the slot's own futex
 * until a submitter wakes this very worker.  The ring protocol (why a claim
 * is a CAS on the entry, not on the ring's head) is in pool_internal.h. */
#define _GNU_SOURCE /* gettid() through log.h */
#include "pool_internal.h"

#include "checked.h"
#include "log.h"
#include "timing.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
    /* How long an idle worker spins before it sleeps: covers the gap
     * between two tasks of a busy submitter (a few hundred ns) many times
     * over, without burning much of a core that another thread needs. */
    WORKER_SPIN_NANOSECONDS = 20000,
};

void mask_clear(_Atomic uint64_t *mask, int slot)
{
    atomic_fetch_and(&mask[slot / 64], ~(UINT64_C(1) << (slot % 64)));
}

static void mask_set(_Atomic uint64_t *mask, int slot)
{
    atomic_fetch_or(&mask[slot / 64], UINT64_C(1) << (slot % 64));
}

static int mask_words(const struct pool *pool) { return (pool->size + 63) / 64; }

static bool mask_any(struct pool *pool, _Atomic uint64_t *mask)
{
    for (int i = 0; i < mask_words(pool); i++)
        if (atomic_load(&mask[i]) != 0)
            return true;
    return false;
}

/* Wake the worker of `slot`, which registered itself asleep. */
static void wake_slot(struct pool *pool, int slot)
{
    struct worker_slot *worker = &pool->slots[slot];
    atomic_fetch_add(&worker->wake_word, 1);
    futex_wake(&worker->wake_word, 1, true);
}

/* Take one sleeper out of the mask and wake it.  Clearing the bit first is
 * what batches wake-ups: the next submitter sees it gone and does not make
 * another system call for the same worker while it gets up. */
static bool wake_a_sleeper(struct pool *pool)
{
    for (int i = 0; i < mask_words(pool); i++) {
        uint64_t bits = atomic_load(&pool->shared->sleeping[i]);
        while (bits != 0) {
            int bit = __builtin_ctzll(bits);
            uint64_t without = bits & ~(UINT64_C(1) << bit);
            if (atomic_compare_exchange_weak(&pool->shared->sleeping[i], &bits,
                                             without)) {
                wake_slot(pool, i * 64 + bit);
                return true;
            }
        }
    }
    return false;
}

void wake_one_worker(struct pool *pool)
{
    /* seq_cst loads, paired with the worker's seq_cst mask updates and
     * re-check of the ring before it sleeps (see idle_wait). */
    if (mask_any(pool, pool->shared->spinning))
        return;
    wake_a_sleeper(pool);
}

void wake_all_workers(struct pool *pool)
{
    while (wake_a_sleeper(pool))
        ;
}

void wake_every_slot(struct pool *pool)
{
    for (int slot = 0; slot < pool->size; slot++)
        wake_slot(pool, slot);
}

void wake_handler(struct pool *pool)
{
    atomic_fetch_add(&pool->shared->handler_word, 1);
    futex_wake(&pool->shared->handler_word, 1, true);
}

void notify_handler(struct pool *pool)
{
    struct pool_shared *shared = pool->shared;
    if (atomic_load(&shared->handler_asleep) &&
        atomic_exchange(&shared->handler_asleep, 0))
        wake_handler(pool);
}

/* ---- The task ring ------------------------------------------------------- */

enum claim { CLAIMED, EMPTY };

/* Claim the task at the ring's head, skipping cells whose task is no longer
 * QUEUED.  On CLAIMED, *entry_index and *ticket say which. */
static enum claim claim_task(struct pool *pool, uint32_t incarnation,
                             uint32_t *entry_index, uint64_t *ticket,
                             bool *waited)
{
    struct pool_shared *shared = pool->shared;
    for (;;) {
        uint64_t head = atomic_load_explicit(&shared->head, memory_order_acquire);
        uint64_t cell = atomic_load_explicit(
            &pool->task_cells[head & (pool->ring_size - 1)], memory_order_acquire);
        /* Task tickets start at 1 and go into the ring in order: position
         * p holds ticket p + 1 once it is filled. */
        if (cell_ticket(cell) != head + 1)
            return EMPTY;
        uint32_t index = cell_entry(cell);
        struct entry *entry = &pool->entries[index];
        uint64_t state = atomic_load_explicit(&entry->state, memory_order_acquire);
        bool mine = state_ticket(state) == head + 1 &&
                    state_phase(state) == PHASE_QUEUED &&
                    atomic_compare_exchange_strong_explicit(
                        &entry->state, &state,
                        state_next(state, incarnation, PHASE_RUNNING),
                        memory_order_acq_rel, memory_order_acquire);
        /* Whoever won (us, another worker, a cancel), the cell is spent:
         * move the head past it.  Failing means someone else did. */
        uint64_t expected_head = head;
        atomic_compare_exchange_strong(&shared->head, &expected_head, head + 1);
        if (mine) {
            *entry_index = index;
            *ticket = head + 1;
            *waited = state_waited(state);
            return CLAIMED;
        }
    }
}

void skip_dead_cells(struct pool *pool)
{
    struct pool_shared *shared = pool->shared;
    for (;;) {
        uint64_t head = atomic_load(&shared->head);
        uint64_t cell =
            atomic_load(&pool->task_cells[head & (pool->ring_size - 1)]);
        if (cell_ticket(cell) != head + 1)
            return;
        uint64_t state = atomic_load(&pool->entries[cell_entry(cell)].state);
        if (state_ticket(state) == head + 1 && state_phase(state) == PHASE_QUEUED)
            return; /* a live task: a worker must take it */
        atomic_compare_exchange_strong(&shared->head, &head, head + 1);
    }
}

bool task_ring_has_task(struct pool *pool)
{
    uint64_t head = atomic_load(&pool->shared->head);
    uint64_t cell = atomic_load(&pool->task_cells[head & (pool->ring_size - 1)]);
    return cell_ticket(cell) == head + 1;
}

/* ---- Running one task ---------------------------------------------------- */

static void run_task(struct pool *pool, int slot, uint32_t incarnation,
                     uint32_t number, uint32_t index, uint64_t ticket,
                     bool waited, pid_t pid, pid_t tid)
{
    struct entry *entry = &pool->entries[index];
    struct pool_result *result = &entry->result;
    memset(&result->value, 0, sizeof result->value);
    result->error[0] = '\0';
    result->task_id = ticket;
    result->worker_pid = pid;
    result->worker_tid = tid;
    result->worker_number = (int)number;
    result->exitcode = 0;
    uint64_t started = clock_nanoseconds();
    struct worker_slot *me = &pool->slots[slot];
    atomic_store_explicit(&me->running_since, started, memory_order_relaxed);
    atomic_store_explicit(&me->running_ticket, ticket, memory_order_relaxed);
    result->started = (double)started / 1e9;
    int rc = entry->task(&entry->argument, &result->value, result->error);
    result->finished = clock_seconds();
    atomic_store_explicit(&me->running_ticket, 0, memory_order_relaxed);
    if (rc == 0) {
        result->status = POOL_OK;
    } else {
        result->status = POOL_FAILED;
        result->error[POOL_ERROR_SIZE - 1] = '\0';
        if (result->error[0] == '\0')
            snprintf(result->error, sizeof result->error,
                     "task failed with status %d", rc);
    }

    if (waited) {
        /* The commit: DONE, then the waiter may read the result.  DONE
         * keeps our incarnation: if we die before the wake-up below, the
         * supervisor finds the entry by it and wakes the waiter. */
        atomic_store_explicit(&entry->state,
                              state_make(ticket, incarnation, PHASE_DONE) |
                                  STATE_WAITED,
                              memory_order_release);
        waiter_finish(&entry->done_word, true);
        return;
    }
    /* The commit: the ring's tail.  The ring cannot be full: it holds at
     * most the tasks in flight, and it has room for all of them. */
    struct result_ring *ring = &pool->rings[slot];
    _Atomic uint64_t *cells = pool->result_cells + (size_t)slot * pool->result_size;
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    atomic_store_explicit(&cells[tail & (pool->result_size - 1)],
                          cell_make(ticket, index), memory_order_relaxed);
    /* seq_cst: ordered before the load of handler_asleep in
     * notify_handler (the handler does the mirror image). */
    atomic_store(&ring->tail, tail + 1);
    notify_handler(pool);
}

/* ---- Idling -------------------------------------------------------------- */

static bool should_leave(struct pool *pool)
{
    struct pool_shared *shared = pool->shared;
    if (atomic_load(&shared->terminating))
        return true;
    /* closed first, then the ring: every task submitted before close() is
     * visible once closed is (the submitter's lock orders them). */
    return atomic_load(&shared->closed) && !task_ring_has_task(pool);
}

/* Nothing to claim: spin, then sleep until woken.  Returns when there may
 * be work, or when the worker should leave. */
static void idle_wait(struct pool *pool, int slot)
{
    struct pool_shared *shared = pool->shared;
    struct worker_slot *worker = &pool->slots[slot];

    mask_set(shared->spinning, slot);
    struct spin spin = spin_begin(WORKER_SPIN_NANOSECONDS);
    do
        if (task_ring_has_task(pool) || should_leave(pool)) {
            mask_clear(shared->spinning, slot);
            return;
        }
    while (spin_more(&spin));
    /* Go to sleep.  Order matters (all seq_cst): register as a sleeper,
     * stop counting as a spinner, then look at the ring once more.  A
     * submitter publishes its task, then looks at the spinners, then at
     * the sleepers: either it sees us (and wakes us), or we see its task. */
    uint32_t seen = atomic_load(&worker->wake_word);
    mask_set(shared->sleeping, slot);
    mask_clear(shared->spinning, slot);
    if (!task_ring_has_task(pool) && !should_leave(pool))
        futex_wait_until(&worker->wake_word, seen, UINT64_MAX, true);
    mask_clear(shared->sleeping, slot);
}

void worker_loop(struct pool *pool, int slot, uint32_t incarnation,
                 uint32_t number)
{
    pid_t pid = getpid(), tid = log_thread_id();
    if (pool->initializer != NULL)
        pool->initializer(pool->initializer_argument);
    for (;;) {
        uint32_t index;
        uint64_t ticket;
        bool waited;
        /* Terminating: take nothing more, even with tasks queued (they end
         * as cancelled).  This is what stops a thread worker, which no
         * signal can; a process worker usually gets SIGTERM first. */
        if (atomic_load_explicit(&pool->shared->terminating,
                                 memory_order_relaxed))
            break;
        if (claim_task(pool, incarnation, &index, &ticket, &waited) == CLAIMED) {
            /* More queued and nobody spinning: get a sleeper going now
             * rather than after this task (a chain of wake-ups spreads a
             * burst over every worker). */
            if (task_ring_has_task(pool))
                wake_one_worker(pool);
            run_task(pool, slot, incarnation, number, index, ticket, waited,
                     pid, tid);
            continue;
        }
        if (should_leave(pool))
            break;
        idle_wait(pool, slot);
    }
    atomic_store(&pool->slots[slot].leaving, 1);
}
