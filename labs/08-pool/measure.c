/* measure.c: what a pool costs, and when it pays off (E10, and the charts).
 *
 *   spawn-cost  E10: per tiny task, a fresh process vs a fresh thread vs a
 *               reused pool worker (process pool and thread pool)
 *   throughput  empty tasks per second through apply_async (pipelined) and
 *               apply (one round trip at a time), with a raw pipe ping-pong
 *               measured in the same run: the floor under any apply
 *   speedup     speedup over serial for a given work per task: process pool,
 *               thread pool, a fresh process per task, a fresh thread per task
 *
 * Honest measurement: every time comes from the monotonic clock; the
 * variants are interleaved repetition by repetition (a slow patch of the
 * machine hits them all alike) after --warmup unrecorded rounds; the CSV has
 * one row per repetition and the narration reports median, min and max.
 * Every task's result is checked (task i returns i + iterations, computed
 * by a loop the compiler cannot collapse: see common/kernel.h), so
 * no variant can be fast by skipping work or losing results: a wrong or
 * missing result ends the run with exit 1.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "minipool.h"
#include "proc.h"
#include "timing.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The measured task ---------------------------------------------------- */

/* argument: numbers[0] = start, numbers[1] = iterations (0: an empty task).
 * result:   numbers[0] = start + iterations, numbers[1] = start. */
static int count_task(const union pool_value *argument,
                      union pool_value *result, char *error)
{
    (void)error;
    result->numbers[0] = (int64_t)kernel_count((uint64_t)argument->numbers[0],
                                             (uint64_t)argument->numbers[1]);
    result->numbers[1] = argument->numbers[0];
    return 0;
}

/* ---- A batch of apply_async tasks ---------------------------------------- */

/* The callbacks count the results (checking each) and wake the submitter
 * when the last one is in: no handle per task, nothing but the pool's own
 * work on the measured path. */
struct batch {
    pthread_mutex_t lock;
    pthread_cond_t all_in;
    int64_t expected, delivered, wrong;
    int64_t iterations;
};

static int batch_result(const struct pool_result *result, void *context)
{
    struct batch *b = context;
    bool right = result->value.numbers[0] ==
                 result->value.numbers[1] + b->iterations;
    CHECK_PT(pthread_mutex_lock(&b->lock));
    b->wrong += !right;
    if (++b->delivered == b->expected)
        CHECK_PT(pthread_cond_signal(&b->all_in));
    CHECK_PT(pthread_mutex_unlock(&b->lock));
    return 0;
}

static int batch_error(const struct pool_result *result, void *context)
{
    struct batch *b = context;
    fprintf(stderr, "pool: task %d: %s: %s\n", task_index(result),
            pool_status_name(result->status), result->error);
    CHECK_PT(pthread_mutex_lock(&b->lock));
    b->wrong++;
    if (++b->delivered == b->expected)
        CHECK_PT(pthread_cond_signal(&b->all_in));
    CHECK_PT(pthread_mutex_unlock(&b->lock));
    return 0;
}

/* Submit `tasks` tasks and wait until every callback has run.  The wait has
 * no bound of its own: the run's watchdog (--timeout) is its bound. */
static double run_async(struct pool *pool, int tasks, uint64_t iterations,
                        bool *correct)
{
    static struct batch b = {.lock = PTHREAD_MUTEX_INITIALIZER,
                             .all_in = PTHREAD_COND_INITIALIZER};
    CHECK_PT(pthread_mutex_lock(&b.lock));
    b.expected = tasks;
    b.delivered = b.wrong = 0;
    b.iterations = (int64_t)iterations;
    CHECK_PT(pthread_mutex_unlock(&b.lock));

    double start = clock_seconds();
    for (int i = 0; i < tasks; i++) {
        union pool_value argument = {.numbers = {i, (int64_t)iterations}};
        CHECK_POOL(pool_apply_async(pool, count_task, &argument, batch_result,
                                    batch_error, &b, NULL));
    }
    CHECK_PT(pthread_mutex_lock(&b.lock));
    while (b.delivered < b.expected)
        CHECK_PT(pthread_cond_wait(&b.all_in, &b.lock));
    double seconds = clock_seconds() - start;
    *correct &= b.wrong == 0;
    CHECK_PT(pthread_mutex_unlock(&b.lock));
    return seconds;
}

/* One task at a time: submit, wait for its result, check it. */
static double run_apply(struct pool *pool, int tasks, uint64_t iterations,
                        bool *correct)
{
    double start = clock_seconds();
    for (int i = 0; i < tasks; i++) {
        union pool_value argument = {.numbers = {i, (int64_t)iterations}};
        struct pool_result result;
        enum pool_status status = pool_apply(pool, count_task, &argument,
                                             &result);
        *correct &= status == POOL_OK &&
                    result.value.numbers[0] == i + (int64_t)iterations;
    }
    return clock_seconds() - start;
}

static double run_serial(int tasks, uint64_t iterations, bool *correct)
{
    double start = clock_seconds();
    for (int i = 0; i < tasks; i++)
        *correct &= kernel_count((uint64_t)i, iterations) ==
                    (uint64_t)i + iterations;
    return clock_seconds() - start;
}

static int default_workers(const struct options *o)
{
    return o->workers ? o->workers : proc_cpu_count();
}

static int wrong_results(const char *what)
{
    fprintf(stderr, "pool: WRONG: %s: a task's result was wrong or missing "
                    "(nothing measured is trusted)\n", what);
    return EXIT_WRONG;
}

/* Median, min and max of one method's repetitions, for the narration. */
static void print_spread(const char *label, const double *seconds, int count,
                         double per, const char *unit)
{
    struct stats s = stats_of(seconds, count);
    printf("  %-34s %10.3f %s   (min %.3f, max %.3f)\n", label,
           s.median / per * 1e6, unit, s.min / per * 1e6, s.max / per * 1e6);
}

/* ---- E10: the cost of a worker per task ---------------------------------- */

enum { SPAWN_METHODS = 4 };
static const char *const spawn_methods[SPAWN_METHODS] = {
    "fork-per-task", "thread-per-task", "process-pool", "thread-pool"};
static const char *const spawn_labels[SPAWN_METHODS] = {
    "a fresh process per task", "a fresh thread per task",
    "a reused process-pool worker", "a reused thread-pool worker"};

int experiment_spawn_cost(const struct options *o)
{
    int workers = default_workers(o), tasks = o->tasks ? o->tasks : 200;
    int repeat = o->repeat;
    double *seconds = xcalloc((size_t)(SPAWN_METHODS * repeat), sizeof *seconds);
    bool correct = true;

    /* Starting a pool is paid once; timed here, then the pools are reused. */
    double start = clock_seconds();
    struct pool *processes = pool_create(&(struct pool_options){
        .kind = POOL_PROCESSES, .workers = workers});
    double process_start = clock_seconds() - start;
    start = clock_seconds();
    struct pool *threads = pool_create(&(struct pool_options){
        .kind = POOL_THREADS, .workers = workers});
    double thread_start = clock_seconds() - start;

    if (o->csv)
        printf("method,tasks,workers,repeat,seconds,per_task_us\n");
    else
        printf("pool: E10 -- %d empty tasks, at most %d at a time: what "
               "starting a worker per task costs\n  (median of %d, after %d "
               "warm-up round%s)\n",
               tasks, workers, repeat, o->warmup, o->warmup == 1 ? "" : "s");
    for (int r = -o->warmup; r < repeat; r++) {
        double took[SPAWN_METHODS];
        took[0] = fresh_process_per_task(tasks, workers, 0, &correct);
        took[1] = fresh_thread_per_task(tasks, workers, 0, &correct);
        took[2] = run_async(processes, tasks, 0, &correct);
        took[3] = run_async(threads, tasks, 0, &correct);
        if (r < 0)
            continue;
        for (int m = 0; m < SPAWN_METHODS; m++) {
            seconds[m * repeat + r] = took[m];
            if (o->csv)
                printf("%s,%d,%d,%d,%.9f,%.6f\n", spawn_methods[m], tasks,
                       workers, r + 1, took[m], took[m] / tasks * 1e6);
        }
    }
    pool_destroy(processes);
    pool_destroy(threads);
    if (!correct) {
        free(seconds);
        return wrong_results("spawn-cost");
    }
    if (!o->csv) {
        printf("  per task:\n");
        for (int m = 0; m < SPAWN_METHODS; m++)
            print_spread(spawn_labels[m], &seconds[m * repeat], repeat, tasks,
                         "us");
        struct stats fork_cost = stats_of(&seconds[0], repeat);
        struct stats pool_cost = stats_of(&seconds[2 * repeat], repeat);
        printf("  A fresh process per task costs %.0fx a reused process "
               "worker.  Starting the pools\n  themselves cost %.2f ms "
               "(processes) and %.2f ms (threads), once.\n",
               fork_cost.median / pool_cost.median, process_start * 1e3,
               thread_start * 1e3);
    }
    free(seconds);
    return EXIT_OK;
}

/* ---- The same batches through minipool.c ---------------------------------- */

/* minipool's task: task i returns i (an empty task, and a checkable one). */
static int64_t echo_task(int64_t argument) { return argument; }

struct mini_batch {
    int64_t delivered, wrong; /* written by the handler thread only */
};

static void mini_result(int64_t value, int worker_pid, void *context)
{
    struct mini_batch *b = context;
    (void)worker_pid;
    /* Results arrive in any order; each value must be one of the tasks'. */
    b->wrong += value < 0;
    b->delivered++;
}

/* minipool has no "wait for every result" call: closing and joining is it
 * (Python's pool.close(); pool.join()), so the pool is started outside the
 * clock and its end (the workers' exit) is inside, as a script that uses
 * it pays it. */
static double run_minipool_async(int workers, int tasks, bool *correct)
{
    struct minipool *pool = minipool_create(workers);
    struct mini_batch b = {0};
    double start = clock_seconds();
    for (int i = 0; i < tasks; i++)
        minipool_apply_async(pool, echo_task, i, mini_result, &b);
    minipool_close_join(pool);
    double seconds = clock_seconds() - start;
    *correct &= b.delivered == tasks && b.wrong == 0;
    return seconds;
}

static double run_minipool_apply(int workers, int tasks, bool *correct)
{
    struct minipool *pool = minipool_create(workers);
    double start = clock_seconds();
    for (int i = 0; i < tasks; i++)
        *correct &= minipool_apply(pool, echo_task, i) == i;
    double seconds = clock_seconds() - start;
    minipool_close_join(pool);
    return seconds;
}

/* ---- Throughput: empty tasks through apply_async and apply ---------------- */

enum { APIS = 3 };
static const char *const api_names[APIS] = {"apply_async", "apply",
                                            "pipe-pingpong"};

int experiment_throughput(const struct options *o)
{
    int workers = default_workers(o), tasks = o->tasks ? o->tasks : 100000;
    int round_trips = tasks / 10 > 0 ? tasks / 10 : 1;
    int repeat = o->repeat;
    bool mini = o->kind == KIND_MINIPOOL;
    bool processes = o->kind != KIND_THREAD; /* minipool's are processes */
    const char *kind = mini ? "minipool" : processes ? "process" : "thread";
    double *seconds = xcalloc((size_t)(APIS * repeat), sizeof *seconds);
    bool correct = true;

    struct pool *pool = mini ? NULL : pool_create(&(struct pool_options){
        .kind = processes ? POOL_PROCESSES : POOL_THREADS, .workers = workers});
    if (o->csv)
        printf("kind,api,tasks,seconds\n");
    for (int r = -o->warmup; r < repeat; r++) {
        bool warm = r < 0;
        double took[APIS];
        int batch = warm ? round_trips : tasks;
        took[0] = mini ? run_minipool_async(workers, batch, &correct)
                       : run_async(pool, batch, 0, &correct);
        took[1] = mini ? run_minipool_apply(workers, round_trips, &correct)
                       : run_apply(pool, round_trips, 0, &correct);
        took[2] = pipe_pingpong(processes, round_trips, warm ? 0 : 100,
                                &correct);
        if (warm)
            continue;
        for (int a = 0; a < APIS; a++) {
            seconds[a * repeat + r] = took[a];
            if (o->csv)
                printf("%s,%s,%d,%.9f\n", kind, api_names[a],
                       a == 0 ? tasks : round_trips, took[a]);
        }
    }
    if (pool != NULL)
        pool_destroy(pool);
    if (!correct) {
        free(seconds);
        return wrong_results("throughput");
    }
    if (!o->csv) {
        struct stats async = stats_of(&seconds[0], repeat);
        struct stats apply = stats_of(&seconds[repeat], repeat);
        struct stats pipe = stats_of(&seconds[2 * repeat], repeat);
        printf("pool: empty tasks through a %s(%d) of %s (median of %d)\n",
               mini ? "minipool" : "Pool", workers,
               processes ? "processes" : "threads", repeat);
        printf("  apply_async: %d tasks, %.0f tasks/s, %.2f us per task\n",
               tasks, tasks / async.median, async.median / tasks * 1e6);
        printf("  apply:       %d round trips, %.0f tasks/s, %.2f us per "
               "round trip\n", round_trips, round_trips / apply.median,
               apply.median / round_trips * 1e6);
        printf("  raw pipe ping-pong between two %s: %.2f us per round "
               "trip\n", processes ? "processes" : "threads",
               pipe.median / round_trips * 1e6);
        printf("  apply costs %.2fx a raw round trip; apply_async is %.1fx "
               "faster than apply\n  (it keeps every worker busy instead of "
               "waiting for each result)\n",
               apply.median / pipe.median,
               (tasks / async.median) / (round_trips / apply.median));
        /* Which case this run was in: the pool's waiter spins a few
         * microseconds before it sleeps, so apply beats the pipe only while
         * both ends have a core to spin on and a pipe's wake-ups are slow;
         * with no free core the spin is wasted and the pipe wins. */
        int cores = proc_cpu_count();
        if (mini)
            printf("  minipool's apply is a pipe round trip plus a hop to the "
                   "parent's result\n  thread, and it never spins: it %s the "
                   "raw pipe (common/pool keeps tasks in\n  shared memory "
                   "instead)\n",
                   apply.median < pipe.median ? "beat, this time," : "costs more than");
        else if (apply.median < pipe.median)
            printf("  apply beat the pipe: with %d CPU%s, both ends could spin "
                   "on a core of their own, so\n  neither slept, while every "
                   "pipe round trip woke a sleeping %s twice\n",
                   cores, cores == 1 ? "" : "s",
                   processes ? "process" : "thread");
        else
            printf("  the pipe beat apply: %s\n",
                   cores < 2 ? "with 1 CPU the two ends cannot spin at the "
                               "same time, so the pool's spinning is wasted"
                             : "the pool's spin did not pay (no free core "
                               "for one end: a busy machine), or this\n  "
                               "machine wakes a sleeping process quickly");

    }
    free(seconds);
    return EXIT_OK;
}

/* ---- Speedup vs work per task ---------------------------------------------- */

enum { KINDS = 5 };
static const char *const kind_names[KINDS] = {
    "serial", "process-pool", "thread-pool", "fork-per-task",
    "thread-per-task"};

int experiment_speedup(const struct options *o)
{
    int workers = default_workers(o);
    double rate = kernel_iterations_per_us();
    uint64_t iterations = (uint64_t)(o->work_us * rate + 0.5);
    /* Enough tasks for ~40 ms of serial work, at least 4 per worker, at
     * most 2000 (a fresh process per task must stay affordable). */
    int tasks = o->tasks;
    if (tasks == 0) {
        double wanted = o->work_us > 0 ? 40000 / o->work_us : 2000;
        tasks = wanted > 2000 ? 2000 : (int)wanted;
        if (tasks < 4 * workers)
            tasks = 4 * workers;
    }
    /* A fresh process per task costs 1-5 ms here: at most 50 of them (but
     * 4 per worker) per round.  Speedups are per task, so rounds of
     * different sizes compare. */
    int fresh = tasks < 50 ? tasks : 50;
    if (fresh < 4 * workers)
        fresh = tasks < 4 * workers ? tasks : 4 * workers;
    int counts[KINDS] = {tasks, tasks, tasks, fresh, fresh};
    int repeat = o->repeat;
    double *seconds = xcalloc((size_t)(KINDS * repeat), sizeof *seconds);
    bool correct = true;

    struct pool *processes = pool_create(&(struct pool_options){
        .kind = POOL_PROCESSES, .workers = workers});
    struct pool *threads = pool_create(&(struct pool_options){
        .kind = POOL_THREADS, .workers = workers});
    if (o->csv)
        printf("kind,work_us,tasks,workers,repeat,seconds\n");
    for (int r = -o->warmup; r < repeat; r++) {
        double took[KINDS];
        took[0] = run_serial(tasks, iterations, &correct);
        took[1] = run_async(processes, tasks, iterations, &correct);
        took[2] = run_async(threads, tasks, iterations, &correct);
        took[3] = fresh_process_per_task(fresh, workers, iterations, &correct);
        took[4] = fresh_thread_per_task(fresh, workers, iterations, &correct);
        if (r < 0)
            continue;
        for (int k = 0; k < KINDS; k++) {
            seconds[k * repeat + r] = took[k];
            if (o->csv)
                printf("%s,%g,%d,%d,%d,%.9f\n", kind_names[k], o->work_us,
                       counts[k], workers, r + 1, took[k]);
        }
    }
    pool_destroy(processes);
    pool_destroy(threads);
    if (!correct) {
        free(seconds);
        return wrong_results("speedup");
    }
    if (!o->csv) {
        printf("pool: tasks of %g us of work each (%" PRIu64 " iterations; "
               "this machine counts %.0f per us),\n  %d workers, median of "
               "%d; speedup = serial time per task / time per task:\n",
               o->work_us, iterations, rate, workers, repeat);
        double serial = stats_of(seconds, repeat).median / tasks;
        for (int k = 0; k < KINDS; k++) {
            struct stats s = stats_of(&seconds[k * repeat], repeat);
            double per_task = s.median / counts[k];
            printf("  %-16s %5d tasks %10.3f ms   %9.2f us per task   "
                   "speedup %6.2fx\n", kind_names[k], counts[k],
                   s.median * 1e3, per_task * 1e6, serial / per_task);
        }
    }
    free(seconds);
    return EXIT_OK;
}
