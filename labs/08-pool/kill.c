/* kill.c: a worker process killed in the middle of a task.
 *
 * Not in the documents, but the first thing that goes wrong with a process
 * pool in real life: a worker is killed (the OOM killer, a segfault in a C
 * extension, an operator's kill -9) while it runs a task.
 *
 * Python's multiprocessing.Pool notices that a worker is gone and starts a
 * new one, but it does not know which task the dead worker held: that
 * task's AsyncResult is never set, so result.get() and pool.join() wait
 * forever (concurrent.futures' ProcessPoolExecutor instead declares the
 * whole pool broken and fails every pending future).  common/pool.c
 * records which task each worker took, watches every worker's pidfd, and
 * when one dies hands exactly that task an error naming the pid and the
 * signal -- then starts a replacement and lets every other task finish.
 *
 * Here one task kills its own worker with SIGKILL (so the moment and the
 * victim are exact), and the run checks: that task got POOL_WORKER_DIED
 * with signal 9, every other task its result, and how long the error took.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "log.h"
#include "timing.h"

#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Written by the victim just before it dies; read by the parent.  In a
 * MAP_SHARED mapping made before the pool, so every worker sees the same
 * page (a process worker's own variables would stay in that worker). */
struct death {
    atomic_uint_least64_t killed_at; /* clock_nanoseconds(), 0: not yet */
    atomic_int victim_pid;
};
static struct death *death;

/* What the callbacks collected for one trial (they run one at a time on
 * the result handler; main reads it after pool_join()). */
struct trial {
    int tasks, victim;
    int results_right, results_wrong;
    bool victim_seen;
    struct pool_result victim_result;
    uint64_t error_at; /* clock_nanoseconds() when its error arrived */
    bool narrate;
};

/* argument: numbers[0] = task index, numbers[1] = 1 for the victim,
 * reals[2] = seconds of work (a sleep), numbers[3] = 1 to narrate.
 * Returns index + 1000. */
static int task(const union pool_value *argument, union pool_value *result,
                char *error)
{
    (void)error;
    if (argument->numbers[1]) {
        if (argument->numbers[3])
            log_line("task %" PRId64 ": killing my own worker with SIGKILL "
                     "(as the OOM killer would)", argument->numbers[0]);
        atomic_store(&death->victim_pid, (int)getpid());
        atomic_store(&death->killed_at, clock_nanoseconds());
        kill(getpid(), SIGKILL);
        pause(); /* SIGKILL cannot be caught: the next line never runs */
    }
    clock_sleep(argument->reals[2]);
    result->numbers[0] = argument->numbers[0] + 1000;
    return 0;
}

static int on_result(const struct pool_result *result, void *context)
{
    struct trial *t = context;
    /* Task ids count from 1 in submission order: task i has id i + 1. */
    int64_t index = task_index(result);
    bool right = index != t->victim && index < t->tasks &&
                 result->value.numbers[0] == index + 1000;
    if (right)
        t->results_right++;
    else
        t->results_wrong++;
    if (t->narrate)
        log_line("callback: task %" PRId64 " returned %" PRId64
                 " (worker pid %d)", result->value.numbers[0] - 1000,
                 result->value.numbers[0], (int)result->worker_pid);
    return 0;
}

static int on_error(const struct pool_result *result, void *context)
{
    struct trial *t = context;
    uint64_t now = clock_nanoseconds();
    if (t->narrate)
        log_line("error callback: task %d: %s: %s",
                 task_index(result), pool_status_name(result->status),
                 result->error);
    if (task_index(result) == t->victim && !t->victim_seen) {
        t->victim_seen = true;
        t->victim_result = *result;
        t->error_at = now;
    } else {
        t->results_wrong++;
    }
    return 0;
}

int experiment_kill_worker(const struct options *o)
{
    int workers = o->workers ? o->workers : 2;
    int tasks = o->tasks ? o->tasks : 8;
    if (tasks < 2)
        tasks = 2; /* a victim and at least one survivor */
    double work = 0.05 * o->scale;
    int trials = o->repeat;
    bool narrate = !o->csv;
    death = CHECK_PTR(mmap(NULL, sizeof *death, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                      MAP_FAILED);
    if (o->csv)
        printf("trial,tasks,workers,victim_task,victim_pid,signal,"
               "error_seconds,others_ok\n");
    uint64_t state = o->seed;
    bool all_right = true;
    for (int trial = 1; trial <= trials; trial++) {
        /* The victim is a task from the middle of the list (seeded), so
         * tasks before it and after it both have to survive. */
        state = state * 6364136223846793005u + 1442695040888963407u;
        struct trial t = {.tasks = tasks,
                          .victim = 1 + (int)((state >> 33) % (uint64_t)(tasks - 1)),
                          .narrate = narrate && trials == 1};
        atomic_store(&death->killed_at, 0);
        atomic_store(&death->victim_pid, 0);
        if (narrate)
            printf("pool: a worker killed mid-task -- Pool(%d) of processes, "
                   "%d tasks of %g s; task %d kills its own worker (seed %"
                   PRIu64 ", trial %d)\n",
                   workers, tasks, work, t.victim, o->seed, trial);

        struct pool *pool = pool_create(&(struct pool_options){
            .kind = POOL_PROCESSES, .workers = workers});
        pid_t before[POOL_MAX_WORKERS];
        int count_before = pool_worker_pids(pool, before, POOL_MAX_WORKERS);
        for (int i = 0; i < tasks; i++) {
            union pool_value argument = {
                .numbers = {i, i == t.victim, 0, narrate}};
            argument.reals[2] = work;
            CHECK_POOL(pool_apply_async(pool, task, &argument, on_result,
                                        on_error, &t, NULL));
        }
        pool_close(pool);
        CHECK_POOL(pool_join(pool, POOL_FOREVER));
        struct pool_stats stats = pool_stats(pool);
        pool_destroy(pool);

        const struct pool_result *v = &t.victim_result;
        uint64_t killed_at = atomic_load(&death->killed_at);
        int victim_pid = atomic_load(&death->victim_pid);
        double latency = killed_at && t.error_at > killed_at
                             ? (double)(t.error_at - killed_at) / 1e9
                             : 0;
        bool victim_right = t.victim_seen && v->status == POOL_WORKER_DIED &&
                            v->exitcode == -SIGKILL &&
                            v->worker_pid == victim_pid && killed_at != 0;
        bool others_right = t.results_right == tasks - 1 &&
                            t.results_wrong == 0;
        all_right &= victim_right && others_right;

        if (o->csv) {
            printf("%d,%d,%d,%d,%d,%d,%.6f,%d\n", trial, tasks, workers,
                   t.victim, victim_pid, v->exitcode < 0 ? -v->exitcode : 0,
                   latency, others_right);
            continue;
        }
        if (trials > 1) {
            printf("  trial %d: task %d's worker (pid %d) killed; error after "
                   "%.3f ms; %d of %d other tasks returned their result%s\n",
                   trial, t.victim, victim_pid, latency * 1e3, t.results_right,
                   tasks - 1, victim_right && others_right ? "" : "  WRONG");
            continue;
        }
        printf("what happened:\n");
        if (t.victim_seen)
            printf("  task %d got %s with the error:\n    \"%s\"\n", t.victim,
                   pool_status_name(v->status), v->error);
        else
            printf("  task %d got NO error\n", t.victim);
        printf("  it arrived %.3f ms after the kill (worker pid %d, signal "
               "%d, SIGKILL)\n", latency * 1e3, victim_pid,
               v->exitcode < 0 ? -v->exitcode : 0);
        int replacements = (int)stats.workers_started - count_before;
        printf("  %d of the %d other tasks returned their result; workers "
               "died: %" PRIu64 ", workers started: %" PRIu64 " (%d at the "
               "start, %d replacement%s)\n",
               t.results_right, tasks - 1, stats.worker_deaths,
               stats.workers_started, count_before, replacements,
               replacements == 1 ? "" : "s");
        if (victim_right && others_right)
            printf("  Python's multiprocessing.Pool would replace the worker "
                   "too, but never tell task %d:\n  its AsyncResult stays "
                   "unset and pool.join() waits forever.\n", t.victim);
    }
    CHECK(munmap(death, sizeof *death));
    if (!all_right) {
        fprintf(stderr, "pool: WRONG: the killed task got no WORKER_DIED "
                        "error, or another task lost its result\n");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}
