/* lab.h: what the files of lab 08 share.  The lesson starts in pool.c. */
#ifndef LAB_POOL_H
#define LAB_POOL_H

#include "kernel.h"
#include "pool.h"

#include <stdbool.h>
#include <stdint.h>

/* A pool call whose only expected outcome here is POOL_OK: anything else is
 * a bug in this program, and stops it like a failed system call (file:line,
 * the call, the status; every child killed and reaped; exit 4). */
#define CHECK_POOL(call)                                                       \
    do {                                                                       \
        enum pool_status check_pool_ = (call);                                 \
        if (check_pool_ != POOL_OK)                                            \
            die_pool_status(__FILE__, __LINE__, #call, check_pool_);           \
    } while (0)
_Noreturn void die_pool_status(const char *file, int line, const char *what,
                               enum pool_status status);

enum experiment {
    EXPERIMENT_CALLBACKS,  /* E3 */
    EXPERIMENT_APPLY,      /* E4 */
    EXPERIMENT_TIMELINE,   /* E5 */
    EXPERIMENT_MAP,        /* E5 */
    EXPERIMENT_SPAWN_COST, /* E10 */
    EXPERIMENT_FUTURES,    /* E15 */
    EXPERIMENT_KILL_WORKER,
    EXPERIMENT_THROUGHPUT,
    EXPERIMENT_SPEEDUP,
    EXPERIMENT_COUNT
};

enum kind {
    KIND_PROCESS,
    KIND_THREAD,
    KIND_MINIPOOL, /* minipool.c, the readable pool: throughput only */
};

/* The command line, validated (pool.c). */
struct options {
    int experiment;
    int kind;
    int workers;          /* 0: the experiment's own default */
    int tasks;            /* 0: the experiment's own default */
    uint64_t iterations;  /* the counting task's size (E3, E4) */
    double scale;         /* multiplies the documents' sleeps (E5, E15) */
    uint64_t seed;
    double work_us;       /* speedup: work per task */
    int repeat, warmup;
    bool csv;
    bool quiz, answer;    /* timeline: predict the start times, then check */
};

/* ---- The work (baseline.c) --------------------------------------------- */

/* The labs number tasks from 0, in the order they were submitted (the
 * documents' range(5)); the pool's task ids count from 1. */
static inline int task_index(const struct pool_result *result)
{
    return (int)result->task_id - 1;
}

/* The documents' calc() is kernel_count() (common/kernel.h), shared with
 * every lab that counts. */

/* ---- The baselines (baseline.c) ----------------------------------------
 * Each runs `tasks` tasks, task i computing kernel_count(i, iterations), with
 * at most `concurrency` alive at once; returns the seconds taken and clears
 * *correct if any result came back wrong (never sets it: one flag collects
 * every check of a run, pool runs and baselines alike). */
double fresh_process_per_task(int tasks, int concurrency, uint64_t iterations,
                              bool *correct);
double fresh_thread_per_task(int tasks, int concurrency, uint64_t iterations,
                             bool *correct);

/* `round_trips` 8-byte round trips over two pipes, after `warmup` untimed
 * ones, with a child process (processes) or a thread.  Returns the seconds
 * the timed ones took; clears *correct if an echo came back wrong. */
double pipe_pingpong(bool processes, int round_trips, int warmup, bool *correct);

/* ---- The experiments: each returns the program's exit status ------------ */
int experiment_callbacks(const struct options *options);   /* pool.c */
int experiment_apply(const struct options *options);       /* pool.c */
int experiment_timeline(const struct options *options);    /* pool.c */
int experiment_map(const struct options *options);         /* pool.c */
int experiment_futures(const struct options *options);     /* futures.c */
int experiment_kill_worker(const struct options *options); /* kill.c */
int experiment_spawn_cost(const struct options *options);  /* measure.c */
int experiment_throughput(const struct options *options);  /* measure.c */
int experiment_speedup(const struct options *options);     /* measure.c */

#endif
