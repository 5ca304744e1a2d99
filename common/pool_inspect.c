/* pool_inspect.c: looking at a pool from outside -- its size, workers,
 * statistics, and a description for a watchdog's diagnosis.  Everything
 * here reads atomics only and never blocks. */
#include "pool_internal.h"

#include "timing.h"

#include <stdio.h>

int pool_size(const struct pool *pool) { return pool->size; }

enum pool_kind pool_kind_of(const struct pool *pool) { return pool->kind; }

int pool_worker_pids(struct pool *pool, pid_t *pids, int capacity)
{
    int count = 0;
    for (int slot = 0; slot < pool->size && count < capacity; slot++) {
        pid_t id = atomic_load(&pool->slots[slot].tid);
        if (id != 0)
            pids[count++] = id;
    }
    return count;
}

struct pool_stats pool_stats(struct pool *pool)
{
    return (struct pool_stats){
        .submitted = atomic_load(&pool->stats.submitted),
        .completed = atomic_load(&pool->stats.completed),
        .failed = atomic_load(&pool->stats.failed),
        .worker_deaths = atomic_load(&pool->stats.worker_deaths),
        .workers_started = atomic_load(&pool->stats.workers_started),
        .callback_failures = atomic_load(&pool->stats.callback_failures),
    };
}

const char *pool_status_name(enum pool_status status)
{
    static const char *const names[] = {
        [POOL_OK] = "OK",
        [POOL_FAILED] = "FAILED",
        [POOL_WORKER_DIED] = "WORKER_DIED",
        [POOL_CANCELLED] = "CANCELLED",
        [POOL_TIMEOUT] = "TIMEOUT",
        [POOL_CLOSED] = "CLOSED",
        [POOL_FULL] = "FULL",
        [POOL_STILL_OPEN] = "STILL_OPEN",
        [POOL_IN_CALLBACK] = "IN_CALLBACK",
    };
    if ((unsigned)status < sizeof names / sizeof names[0] && names[status])
        return names[status];
    return "UNKNOWN";
}

const char *pool_kind_name(enum pool_kind kind)
{
    return kind == POOL_THREADS ? "threads" : "processes";
}

void pool_describe(struct pool *pool, FILE *out)
{
    uint64_t now = clock_nanoseconds();
    fprintf(out, "pool of %d %s:\n", pool->size, pool_kind_name(pool->kind));
    for (int slot = 0; slot < pool->size; slot++) {
        struct worker_slot *worker = &pool->slots[slot];
        pid_t id = atomic_load(&worker->tid);
        unsigned number = atomic_load(&worker->number);
        uint64_t ticket = atomic_load(&worker->running_ticket);
        uint64_t since = atomic_load(&worker->running_since);
        if (id == 0)
            fprintf(out, "  slot %d: no worker (ended, or being replaced)\n", slot);
        else if (ticket == 0)
            fprintf(out, "  %s %d (pool-%s-%u): idle\n",
                    pool->kind == POOL_THREADS ? "thread" : "worker", (int)id,
                    pool->kind == POOL_THREADS ? "thread" : "worker", number);
        else
            fprintf(out, "  %s %d (pool-%s-%u): running task %llu for %.3f s\n",
                    pool->kind == POOL_THREADS ? "thread" : "worker", (int)id,
                    pool->kind == POOL_THREADS ? "thread" : "worker", number,
                    (unsigned long long)ticket,
                    now > since ? (double)(now - since) / 1e9 : 0.0);
    }
    int queued = 0;
    for (int index = 0; index < pool->capacity; index++)
        queued += state_phase(atomic_load(&pool->entries[index].state)) ==
                  PHASE_QUEUED;
    struct pool_stats stats = pool_stats(pool);
    fprintf(out,
            "  %d task(s) queued; %llu submitted, %llu completed (%llu failed), "
            "%llu worker death(s)%s\n",
            queued, (unsigned long long)stats.submitted,
            (unsigned long long)stats.completed, (unsigned long long)stats.failed,
            (unsigned long long)stats.worker_deaths,
            atomic_load(&pool->shared->closed) ? "; closed" : "");
}
