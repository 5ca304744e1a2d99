/* pool_supervisor.c: starting the workers, noticing deaths, replacing the
 * dead, and ending them all on pool_terminate().
 *
 * Process workers are forked by one thread only, the supervisor
 * ("pool-supervisor"), which lives until every worker has been reaped:
 * PR_SET_PDEATHSIG (proc.h) kills a child when the thread that forked it
 * ends, so the forking thread must outlive its children, and a thread that
 * only supervises does.  It sleeps in poll() on one pidfd per worker (and
 * an eventfd the pool pokes), so a death is seen at once, not at the next
 * task.  Thread workers are started and joined by the pool's caller; they
 * cannot die alone. */
#define _GNU_SOURCE /* pidfd_open through syscall(), eventfd */
#include "pool_internal.h"

#include "checked.h"
#include "log.h"
#include "timing.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- Process workers ----------------------------------------------------- */

struct worker_start {
    struct pool *pool;
    int slot;
    uint32_t incarnation, number;
};

/* The child's body.  `argument` is the supervisor's stack frame, copied by
 * fork(): valid in the child for as long as it runs. */
static int process_main(void *argument)
{
    const struct worker_start *start = argument;
    worker_loop(start->pool, start->slot, start->incarnation, start->number);
    return 0;
}

static void start_process(struct pool *pool, int slot)
{
    struct worker_local *worker = &pool->workers[slot];
    struct worker_slot *shared = &pool->slots[slot];
    /* Counted once it is visible in pool_worker_pids() (this thread is the
     * only one that counts). */
    uint32_t number = (uint32_t)atomic_load(&pool->stats.workers_started) + 1;
    worker->number = number;
    worker->incarnation = incarnation_of(number);
    atomic_store(&shared->leaving, 0);
    atomic_store(&shared->number, number);

    struct worker_start start = {pool, slot, worker->incarnation, number};
    char name[16];
    snprintf(name, sizeof name, "pool-worker-%u", number);
    proc_start(&worker->process, name, process_main, &start);
    /* A pidfd works for a child that has already ended (a zombie), so
     * there is no race with a worker that dies at once. */
    worker->pidfd = (int)CHECK(syscall(SYS_pidfd_open, worker->process.pid, 0));
    atomic_store(&shared->pid, worker->process.pid);
    atomic_store(&shared->tid, worker->process.pid);
    atomic_store(&pool->stats.workers_started, number);
}

/* A waited-on task of a dead worker: its waiter is in pool_apply/pool_map,
 * not behind the handler, so it is ended here, at once.  A task the worker
 * completed (DONE) just before it died may still lack its wake-up. */
static void fail_waited_task(struct pool *pool, const struct death *death)
{
    for (int index = 0; index < pool->capacity; index++) {
        struct entry *entry = &pool->entries[index];
        uint64_t state = atomic_load_explicit(&entry->state, memory_order_acquire);
        if (state_incarnation(state) != death->incarnation || !state_waited(state))
            continue;
        if (state_phase(state) == PHASE_RUNNING) {
            /* Stable: its worker is dead and its waiter still waits. */
            struct pool_result result;
            result_worker_died(&result, state_ticket(state), death);
            waited_entry_end(pool, (uint32_t)index, state, &result);
        } else if (state_phase(state) == PHASE_DONE) {
            /* Done but perhaps not woken: the worker died after its DONE
             * store, either before it set done_word (then we set it, if
             * the state read again after done_word proves that word was
             * this task's: a reuse resets done_word (release) only after
             * the entry was freed, and no waiter frees it before done_word
             * says DONE -- which only we can still write); or after that
             * but before its futex_wake() (then we wake).  A wake-up the
             * waiter did not need, even on a reused entry, only makes it
             * look again. */
            if (atomic_load_explicit(&entry->done_word, memory_order_acquire) !=
                    WAITER_DONE &&
                atomic_load_explicit(&entry->state, memory_order_acquire) == state)
                waiter_finish(&entry->done_word, true);
            else
                futex_wake(&entry->done_word, INT_MAX, true);
        }
    }
}

/* The worker of `slot` has ended (its pidfd is readable). */
static void reap_slot(struct pool *pool, int slot, bool terminating)
{
    struct worker_local *worker = &pool->workers[slot];
    struct worker_slot *shared = &pool->slots[slot];
    if (!proc_join(&worker->process, 0))
        return; /* not yet (cannot happen once the pidfd is readable) */
    close(worker->pidfd);
    worker->pidfd = -1;
    atomic_store(&shared->pid, 0);
    atomic_store(&shared->tid, 0);
    if (atomic_load(&shared->leaving) && worker->process.exitcode == 0)
        return; /* it left on purpose: the pool is closing */

    struct death death = {
        .slot = slot,
        .incarnation = worker->incarnation,
        .number = worker->number,
        .pid = worker->process.pid,
        .exitcode = worker->process.exitcode,
        .terminated = terminating,
    };
    if (!terminating)
        atomic_fetch_add(&pool->stats.worker_deaths, 1);
    /* A dead worker must not be picked for a wake-up, nor keep submitters
     * from waking others by seeming to spin. */
    mask_clear(pool->shared->sleeping, slot);
    mask_clear(pool->shared->spinning, slot);
    fail_waited_task(pool, &death);

    CHECK_PT(pthread_mutex_lock(&pool->lock));
    if (pool->death_count == pool->death_capacity) {
        pool->death_capacity = pool->death_capacity * 2 + 4;
        pool->deaths = realloc(pool->deaths, (size_t)pool->death_capacity *
                                                 sizeof *pool->deaths);
        if (pool->deaths == NULL)
            die_at(__FILE__, __LINE__, "realloc()", ENOMEM);
    }
    pool->deaths[pool->death_count++] = death;
    atomic_store(&pool->notes_pending, 1);
    CHECK_PT(pthread_mutex_unlock(&pool->lock));
    /* Not notify_handler(): the dead worker may have taken the handler's
     * "asleep" flag without waking it (pool_internal.h, wake_handler). */
    wake_handler(pool);

    /* A replacement, unless the pool is ending: after close() only if
     * tasks are left for it (the other workers may have left already). */
    if (!terminating &&
        (!atomic_load(&pool->shared->closed) || task_ring_has_task(pool)))
        start_process(pool, slot);
    /* The same for a sleeping worker whose bit the dead one had taken. */
    wake_every_slot(pool);
}

static void signal_all(struct pool *pool, int signal_number)
{
    for (int slot = 0; slot < pool->size; slot++)
        if (pool->workers[slot].pidfd >= 0)
            proc_signal(&pool->workers[slot].process, signal_number);
}

static void *supervisor_main(void *argument)
{
    struct pool *pool = argument;
    log_set_name("pool-supervisor");
    /* Fork only once our creator is out of pthread_create() (proc.h). */
    while (!atomic_load(&pool->supervisor_go))
        futex_wait_until(&pool->supervisor_go, 0, UINT64_MAX, false);
    for (int slot = 0; slot < pool->size; slot++)
        start_process(pool, slot);
    atomic_store(&pool->workers_ready, 1);
    futex_wake(&pool->workers_ready, INT_MAX, false);

    struct pollfd *fds = xcalloc((size_t)pool->size + 1, sizeof *fds);
    int *slot_of = xcalloc((size_t)pool->size + 1, sizeof *slot_of);
    bool terminating = false, killed = false;
    uint64_t kill_at = 0;
    for (;;) {
        if (!terminating && atomic_load(&pool->shared->terminating)) {
            /* Python's terminate(): SIGTERM, then (here) SIGKILL after the
             * grace period for a worker that does not end. */
            terminating = true;
            signal_all(pool, SIGTERM);
            kill_at = clock_nanoseconds() +
                      (uint64_t)(pool->terminate_grace * 1e9);
        }
        if (terminating && !killed && clock_nanoseconds() >= kill_at) {
            signal_all(pool, SIGKILL);
            killed = true;
        }
        int count = 0;
        fds[count++] = (struct pollfd){.fd = pool->control_fd, .events = POLLIN};
        for (int slot = 0; slot < pool->size; slot++) {
            if (pool->workers[slot].pidfd < 0)
                continue;
            slot_of[count] = slot;
            fds[count++] =
                (struct pollfd){.fd = pool->workers[slot].pidfd, .events = POLLIN};
        }
        if (count == 1) /* no worker left, and none will be started */
            break;
        int timeout = -1;
        if (terminating && !killed) {
            uint64_t now = clock_nanoseconds();
            timeout = now >= kill_at ? 0 : (int)((kill_at - now) / 1000000u) + 1;
        }
        int ready = poll(fds, (nfds_t)count, timeout);
        if (ready == -1 && errno == EINTR)
            continue;
        if (ready == -1)
            die_at(__FILE__, __LINE__, "poll(pidfds)", errno);
        if (fds[0].revents & POLLIN) {
            uint64_t pokes;
            CHECK(read(pool->control_fd, &pokes, sizeof pokes));
        }
        for (int i = 1; i < count; i++)
            if (fds[i].revents != 0)
                reap_slot(pool, slot_of[i], terminating);
    }
    free(fds);
    free(slot_of);
    cancel_waited_leftovers(pool);
    atomic_store(&pool->workers_gone, 1);
    notify_handler(pool);
    return NULL;
}

void supervisor_poke(struct pool *pool)
{
    uint64_t one = 1;
    CHECK(write(pool->control_fd, &one, sizeof one));
}

/* ---- Thread workers ------------------------------------------------------ */

struct thread_start {
    struct pool *pool;
    int slot;
    uint32_t number;
};

static void *thread_main(void *argument)
{
    struct thread_start start = *(struct thread_start *)argument;
    free(argument);
    struct pool *pool = start.pool;
    char name[16];
    snprintf(name, sizeof name, "pool-thread-%u", start.number);
    log_set_name(name);
    atomic_store(&pool->slots[start.slot].tid, log_thread_id());
    atomic_store(&pool->slots[start.slot].pid, getpid());
    if (atomic_fetch_add(&pool->threads_ready, 1) + 1 == (uint32_t)pool->size)
        futex_wake(&pool->threads_ready, INT_MAX, false);
    worker_loop(pool, start.slot, incarnation_of(start.number), start.number);
    atomic_store(&pool->slots[start.slot].tid, 0);
    atomic_store(&pool->slots[start.slot].pid, 0);
    if (atomic_fetch_sub(&pool->live_threads, 1) == 1) {
        cancel_waited_leftovers(pool);
        atomic_store(&pool->workers_gone, 1);
        notify_handler(pool);
    }
    return NULL;
}

/* ---- What pool.c calls --------------------------------------------------- */

void workers_start(struct pool *pool)
{
    if (pool->kind == POOL_PROCESSES) {
        pool->control_fd = CHECK(eventfd(0, EFD_CLOEXEC));
        CHECK_PT(pthread_create(&pool->supervisor, NULL, supervisor_main, pool));
        atomic_store(&pool->supervisor_go, 1);
        futex_wake(&pool->supervisor_go, INT_MAX, false);
        while (!atomic_load(&pool->workers_ready))
            futex_wait_until(&pool->workers_ready, 0, UINT64_MAX, false);
        return;
    }
    atomic_store(&pool->live_threads, pool->size);
    for (int slot = 0; slot < pool->size; slot++) {
        struct thread_start *start = xcalloc(1, sizeof *start);
        start->pool = pool;
        start->slot = slot;
        start->number =
            (uint32_t)atomic_fetch_add(&pool->stats.workers_started, 1) + 1;
        atomic_store(&pool->slots[slot].number, start->number);
        CHECK_PT(pthread_create(&pool->workers[slot].thread, NULL, thread_main,
                                start));
        pool->workers[slot].thread_started = true;
    }
    /* Like a process pool: every worker is known (pool_worker_pids) when
     * pool_create() returns. */
    for (;;) {
        uint32_t ready = atomic_load(&pool->threads_ready);
        if (ready == (uint32_t)pool->size)
            break;
        futex_wait_until(&pool->threads_ready, ready, UINT64_MAX, false);
    }
}

void workers_terminate(struct pool *pool)
{
    if (pool->kind == POOL_PROCESSES)
        supervisor_poke(pool);
    else
        wake_all_workers(pool);
}

void workers_finish(struct pool *pool)
{
    if (pool->kind == POOL_PROCESSES) {
        CHECK_PT(pthread_join(pool->supervisor, NULL));
        return;
    }
    for (int slot = 0; slot < pool->size; slot++)
        if (pool->workers[slot].thread_started) {
            CHECK_PT(pthread_join(pool->workers[slot].thread, NULL));
            pool->workers[slot].thread_started = false;
        }
}
