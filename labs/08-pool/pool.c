/* pool.c: a pool of workers -- where tasks and callbacks run, blocking and
 * non-blocking submission, a queue of tasks waiting for a free worker, and
 * what reusing workers saves (E3, E4, E5, E10, E15).
 *
 * The experiments.  The documents hand small functions to
 * multiprocessing.Pool and look at what happens:
 *   E3  Pool(5), 5 counting tasks with apply_async(calc, callback=...): the
 *       log lines (pid, process name, thread id) show each task in a worker
 *       process and every callback in the PARENT, on one helper thread.
 *   E4  apply() waits for each task: the tasks run one after another, as if
 *       there were no pool.  apply_async() returns at once: they run at the
 *       same time.
 *   E5  Pool(4), 5 tasks sleeping a random 0-3 s: "Waiting for all
 *       subprocesses done..." prints first (apply_async did not wait), and
 *       the fifth task starts only when a worker is free.  And Pool(5).map()
 *       over a 20-item list: the results come back in the list's order.
 *   E10 why a pool at all: starting a process per task is slow; a pool
 *       starts its workers once and reuses them.
 *   E15 concurrent.futures: one executor interface over threads and
 *       processes, and the states of a Future (futures.c).
 *
 * This program runs each with common/pool.h (apply, apply_async with
 * callbacks, map, close, join, terminate) and common/executor.h (submit,
 * futures), over processes or threads (--kind), and checks what it claims.
 * Beyond the documents, --experiment kill-worker SIGKILLs a worker in the
 * middle of a task (kill.c): Python's Pool then waits forever; this pool
 * hands that task an error within milliseconds and finishes the others.
 * The benchmark experiments (measure.c) print CSV for `make bench`.
 *
 * Run:    build/bin/pool                                (E3: callbacks)
 *         build/bin/pool --experiment apply             (E4)
 *         build/bin/pool --experiment timeline --scale 0.3 --seed 4   (E5)
 *         build/bin/pool --experiment futures --kind thread           (E15)
 *         build/bin/pool --experiment kill-worker
 *         build/bin/pool --help                         (every experiment)
 * Notice: in E3 the callback lines carry the parent's pid and all one thread
 *         id; with --kind thread the tasks, too, run in the parent's pid.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "cleanup.h"
#include "flags.h"
#include "log.h"
#include "pool.h"
#include "proc.h"
#include "quiz.h"
#include "timing.h"
#include "trace.h"
#include "watchdog.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum pool_kind pool_kind(const struct options *o)
{
    return o->kind == KIND_THREAD ? POOL_THREADS : POOL_PROCESSES;
}

static const char *workers_word(const struct options *o)
{
    return o->kind == KIND_THREAD ? "threads" : "processes";
}

/* ---- The documents' calc(): count, log, return the count ---------------- */

/* argument: numbers[0] = task index, numbers[1] = iterations.
 * result:   numbers[0] = the count, numbers[1] = the task index. */
static int calc(const union pool_value *argument, union pool_value *result,
                char *error)
{
    (void)error;
    uint64_t iterations = (uint64_t)argument->numbers[1];
    uint64_t sum = kernel_count(0, iterations);
    log_line("task %" PRId64 ": counted to %" PRIu64 " (in the task)",
             argument->numbers[0], sum);
    result->numbers[0] = (int64_t)sum;
    result->numbers[1] = argument->numbers[0];
    return 0;
}

/* The same count without the log line, for E4, whose point is the time. */
static int quiet_calc(const union pool_value *argument,
                      union pool_value *result, char *error)
{
    (void)error;
    result->numbers[0] = (int64_t)kernel_count(0, (uint64_t)argument->numbers[1]);
    result->numbers[1] = argument->numbers[0];
    return 0;
}

/* The worker's name as its log lines show it. */
static const char *worker_name(const struct options *o, int number,
                               char *buffer, size_t size)
{
    snprintf(buffer, size, "pool-%s-%d",
             o->kind == KIND_THREAD ? "thread" : "worker", number);
    return buffer;
}

/* ---- E3: where tasks and callbacks run ---------------------------------- */

enum { MAX_SHOWN = 64 }; /* narrated experiments: tasks at most */

/* What the callbacks saw.  They run one at a time on the result handler,
 * and main reads this only after pool_join(), which waits for them all. */
struct e3_record {
    int calls;
    pid_t callback_pid[MAX_SHOWN], callback_tid[MAX_SHOWN];
    pid_t task_pid[MAX_SHOWN], task_tid[MAX_SHOWN];
    bool right[MAX_SHOWN];
    uint64_t iterations;
    int errors;
};

static int e3_callback(const struct pool_result *result, void *context)
{
    struct e3_record *record = context;
    int i = (int)result->value.numbers[1];
    log_line("callback: task %d returned %" PRId64 " (in the callback)", i,
             result->value.numbers[0]);
    if (i < 0 || i >= MAX_SHOWN)
        return -1;
    record->callback_pid[i] = getpid();
    record->callback_tid[i] = log_thread_id();
    record->task_pid[i] = result->worker_pid;
    record->task_tid[i] = result->worker_tid;
    record->right[i] = (uint64_t)result->value.numbers[0] == record->iterations;
    record->calls++;
    return 0;
}

static int e3_error_callback(const struct pool_result *result, void *context)
{
    struct e3_record *record = context;
    log_line("error callback: task %d %s: %s", task_index(result),
             pool_status_name(result->status), result->error);
    record->errors++;
    return 0;
}

static void list_ids(const char *label, const pid_t *ids, int count)
{
    /* Distinct ids, in first-seen order. */
    printf("%s", label);
    for (int i = 0; i < count; i++) {
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen |= ids[k] == ids[i];
        if (!seen)
            printf(" %d", (int)ids[i]);
    }
    printf("\n");
}

int experiment_callbacks(const struct options *o)
{
    int workers = o->workers ? o->workers : 5, tasks = o->tasks ? o->tasks : 5;
    printf("pool: E3 -- Pool(%d) of %s, %d tasks counting to %" PRIu64
           " with apply_async and a callback each\n",
           workers, workers_word(o), tasks, o->iterations);
    log_line("main: the parent; submitting %d tasks", tasks);

    static struct e3_record record;
    record.iterations = o->iterations;
    double start = clock_seconds();
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = pool_kind(o), .workers = workers});
    for (int i = 0; i < tasks; i++) {
        union pool_value argument = {.numbers = {i, (int64_t)o->iterations}};
        CHECK_POOL(pool_apply_async(pool, calc, &argument, e3_callback,
                                    e3_error_callback, &record, NULL));
    }
    pool_close(pool);               /* Python: pool.close() */
    CHECK_POOL(pool_join(pool, POOL_FOREVER)); /* pool.join(): every callback ran */
    double seconds = clock_seconds() - start;
    pool_destroy(pool);

    /* The claims, checked. */
    pid_t parent = getpid(), main_tid = log_thread_id();
    bool right = record.calls == tasks && record.errors == 0;
    bool one_thread = true, in_parent = true, tasks_elsewhere = true;
    for (int i = 0; i < tasks && right; i++) {
        right &= record.right[i];
        in_parent &= record.callback_pid[i] == parent;
        one_thread &= record.callback_tid[i] == record.callback_tid[0] &&
                      record.callback_tid[i] != main_tid;
        tasks_elsewhere &= o->kind == KIND_THREAD
                               ? record.task_pid[i] == parent &&
                                     record.task_tid[i] != main_tid
                               : record.task_pid[i] != parent;
    }
    printf("where things ran:\n");
    if (right) {
        list_ids(o->kind == KIND_THREAD
                     ? "  tasks:     in the parent's process, on worker threads"
                     : "  tasks:     in worker processes, pids",
                 o->kind == KIND_THREAD ? record.task_tid : record.task_pid,
                 tasks);
        printf("  callbacks: %s, pid %d, on %s thread %d (the main thread is "
               "%d)\n",
               in_parent ? "all in the parent" : "NOT all in the parent",
               (int)parent, one_thread ? "one" : "MORE THAN ONE",
               (int)record.callback_tid[0], (int)main_tid);
    }
    char took[32];
    printf("  %d results, each %" PRIu64 ": %s; elapsed %s\n", record.calls,
           o->iterations, right ? "correct" : "WRONG",
           duration_text(seconds, took, sizeof took));
    if (!(right && in_parent && one_thread && tasks_elsewhere)) {
        fprintf(stderr, "pool: WRONG: the results or where they ran are not "
                        "what E3 claims (see above)\n");
        return EXIT_WRONG;
    }
    printf("  The callbacks ran in the parent, one at a time, on the pool's "
           "result handler:\n  a callback may use the parent's memory, and "
           "must be quick -- the next result waits for it.\n");
    return EXIT_OK;
}

/* ---- E4: apply (blocking) vs apply_async (non-blocking) ----------------- */

struct batch_context {
    int delivered, wrong;
    uint64_t iterations;
    double first_finished; /* when the first task ended (worker's clock) */
    double last_delivered; /* when the last callback ran (our clock) */
};

static int e4_callback(const struct pool_result *result, void *context)
{
    struct batch_context *c = context;
    if (c->delivered == 0 || result->finished < c->first_finished)
        c->first_finished = result->finished;
    c->delivered++;
    c->wrong += (uint64_t)result->value.numbers[0] != c->iterations;
    c->last_delivered = clock_seconds();
    return 0;
}

static int e4_error(const struct pool_result *result, void *context)
{
    struct batch_context *c = context;
    (void)result;
    c->delivered++;
    c->wrong++;
    c->last_delivered = clock_seconds();
    return 0;
}

/* One run of each way, timed.  The pool is created before the clock starts
 * (starting workers is E10's subject, not E4's). */
enum { E4_SERIAL, E4_APPLY, E4_ASYNC, E4_WAYS };

struct e4_run {
    double seconds[E4_WAYS];
    double submitted;    /* apply_async: how long the calls took */
    bool returned_first; /* ...and they returned before any task ended */
};

static bool e4_time(int way, const struct options *o, int workers, int tasks,
                    struct e4_run *run)
{
    bool right = true;
    if (way == E4_SERIAL) { /* no pool: the yardstick */
        double start = clock_seconds();
        for (int i = 0; i < tasks; i++)
            right &= kernel_count(0, o->iterations) == o->iterations;
        run->seconds[way] = clock_seconds() - start;
        return right;
    }
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = pool_kind(o), .workers = workers});
    double start = clock_seconds();
    if (way == E4_APPLY) { /* submit, wait for the result, then the next */
        for (int i = 0; i < tasks; i++) {
            union pool_value argument = {.numbers = {i, (int64_t)o->iterations}};
            struct pool_result result;
            right &= pool_apply(pool, quiet_calc, &argument, &result) ==
                         POOL_OK &&
                     (uint64_t)result.value.numbers[0] == o->iterations;
        }
        run->seconds[way] = clock_seconds() - start;
        pool_close(pool);
        CHECK_POOL(pool_join(pool, POOL_FOREVER));
    } else { /* apply_async: submit all, then wait for all */
        struct batch_context batch = {.iterations = o->iterations};
        for (int i = 0; i < tasks; i++) {
            union pool_value argument = {.numbers = {i, (int64_t)o->iterations}};
            CHECK_POOL(pool_apply_async(pool, quiet_calc, &argument,
                                        e4_callback, e4_error, &batch, NULL));
        }
        run->submitted = clock_seconds() - start;
        pool_close(pool);
        CHECK_POOL(pool_join(pool, POOL_FOREVER));
        /* Until the last result reached its callback, as apply's time ends
         * with its last result: the workers' exit after close() is not
         * part of either. */
        run->seconds[way] = batch.last_delivered - start;
        /* The monotonic clock is the same in every process: the workers'
         * finish times compare with ours. */
        run->returned_first = start + run->submitted < batch.first_finished;
        right &= batch.delivered == tasks && batch.wrong == 0;
    }
    pool_destroy(pool);
    return right;
}

int experiment_apply(const struct options *o)
{
    int workers = o->workers ? o->workers : 5, tasks = o->tasks ? o->tasks : 5;
    int cores = proc_cpu_count();
    printf("pool: E4 -- apply vs apply_async: Pool(%d) of %s, %d tasks "
           "counting to %" PRIu64 ", %d core%s;\n"
           "      median of %d run%s after %d warm-up%s, the three ways "
           "interleaved\n",
           workers, workers_word(o), tasks, o->iterations, cores,
           cores == 1 ? "" : "s", o->repeat, o->repeat == 1 ? "" : "s",
           o->warmup, o->warmup == 1 ? "" : "s");

    /* Warm-ups first, thrown away: the first run of anything pays for cold
     * caches and page faults, and a serial yardstick timed once, cold and
     * first made apply_async look faster than its bound.  Then repetitions,
     * interleaved and rotated like lab count's, so a slow moment of the
     * machine falls on all three ways alike. */
    static double samples[E4_WAYS][REPEAT_MAX];
    struct e4_run narrated = {0};
    bool right = true;
    for (int rep = -o->warmup; rep < o->repeat; rep++) {
        struct e4_run run = {0};
        int rotation = ((rep % E4_WAYS) + E4_WAYS) % E4_WAYS;
        for (int step = 0; step < E4_WAYS; step++)
            right &= e4_time((step + rotation) % E4_WAYS, o, workers, tasks,
                             &run);
        if (rep < 0)
            continue;
        for (int way = 0; way < E4_WAYS; way++)
            samples[way][rep] = run.seconds[way];
        if (rep == 0)
            narrated = run;
    }
    if (!right) {
        fprintf(stderr, "pool: WRONG: a task's result is missing or wrong\n");
        return EXIT_WRONG;
    }

    /* One convention on every line: speedup = serial time / this time. */
    int best = workers < cores ? workers : cores;
    if (best > tasks)
        best = tasks;
    struct stats serial = stats_of(samples[E4_SERIAL], o->repeat);
    static const char *const labels[E4_WAYS] = {"serial, no pool", "apply",
                                                "apply_async"};
    static const char *const why[E4_WAYS] = {
        "the yardstick", "each call waits for its task, one at a time",
        "every task submitted at once"};
    const double bounds[E4_WAYS] = {1, 1, best};
    printf("  %-22s %9s %21s  %s\n", "", "median", "min .. max",
           "speedup over serial (serial time / time)");
    for (int way = 0; way < E4_WAYS; way++) {
        struct stats s = stats_of(samples[way], o->repeat);
        double speedup = serial.median / s.median;
        char name[40], median[32], min[32], max[32];
        snprintf(name, sizeof name, way ? "%s, %d times:" : "%s:",
                 labels[way], tasks);
        printf("  %-22s %9s %10s .. %-9s %5.2fx  %s", name,
               duration_text(s.median, median, sizeof median),
               duration_text(s.min, min, sizeof min),
               duration_text(s.max, max, sizeof max), speedup, why[way]);
        if (way == E4_SERIAL)
            printf("\n");
        else if (speedup > bounds[way] * 1.05)
            printf(";\n  %22s at most %gx is possible: the excess is the "
                   "machine's noise (see the spread)\n", "", bounds[way]);
        else
            printf(" (at most %gx)\n", bounds[way]);
    }
    char took[32];
    printf("  at most %dx = min(tasks %d, workers %d, cores %d); the %d "
           "apply_async calls returned in %s, %s\n",
           best, tasks, workers, cores, tasks,
           duration_text(narrated.submitted, took, sizeof took),
           narrated.returned_first ? "before any task ended"
                                   : "and a task had ended already (a short one)");
    printf("  every result correct\n");
    return EXIT_OK;
}

/* ---- E5: five tasks, four workers: a timeline --------------------------- */

/* argument: numbers[0] = task index, reals[1] = seconds to sleep. */
static int long_time_task(const union pool_value *argument,
                          union pool_value *result, char *error)
{
    (void)error;
    log_line("Run task %" PRId64 " (%d)...", argument->numbers[0],
             (int)getpid());
    double start = clock_seconds();
    clock_sleep(argument->reals[1]);
    log_line("Task %" PRId64 " runs %.2f seconds.", argument->numbers[0],
             clock_seconds() - start);
    result->numbers[0] = argument->numbers[0];
    return 0;
}

/* splitmix64: a tiny, well-mixed generator, so --seed repeats a run. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void print_bar(double from, double to, double origin, double span,
                      int width)
{
    int a = (int)((from - origin) / span * width + 0.5);
    int b = (int)((to - origin) / span * width + 0.5);
    if (b <= a)
        b = a + 1; /* every task shows, however short */
    putchar('|');
    for (int column = 0; column < width; column++)
        putchar(column >= a && column < b ? '#' : ' ');
    putchar('|');
}

/* What a FIFO pool of `workers` does with these sleeps: each task, in
 * submission order, goes to the worker that is free first.  --answer's
 * prediction; the run then shows whether the pool behaved so. */
static void predict_timeline(int workers, int tasks, const double *sleeps,
                             double *starts, int *after)
{
    double free_at[POOL_MAX_WORKERS] = {0};
    int last[POOL_MAX_WORKERS];
    for (int w = 0; w < workers; w++)
        last[w] = -1;
    for (int i = 0; i < tasks; i++) {
        int first = 0;
        for (int w = 1; w < workers; w++)
            if (free_at[w] < free_at[first])
                first = w;
        starts[i] = free_at[first];
        after[i] = last[first]; /* -1: a worker was idle */
        free_at[first] += sleeps[i];
        last[first] = i;
    }
}

int experiment_timeline(const struct options *o)
{
    int workers = o->workers ? o->workers : 4, tasks = o->tasks ? o->tasks : 5;
    if (tasks > MAX_SHOWN)
        tasks = MAX_SHOWN;
    uint64_t state = o->seed;
    double sleeps[MAX_SHOWN];
    printf("pool: E5 -- Pool(%d) of %s, %d tasks each sleeping a random 0-3 s "
           "x %g (seed %" PRIu64 "):\n ",
           workers, workers_word(o), tasks, o->scale, o->seed);
    for (int i = 0; i < tasks; i++) {
        sleeps[i] = (double)(next_random(&state) >> 11) / 9007199254740992.0 *
                    3 * o->scale;
        printf(" %.3f", sleeps[i]);
    }
    printf(" s\n");
    double predicted[MAX_SHOWN];
    int after[MAX_SHOWN];
    predict_timeline(workers, tasks, sleeps, predicted, after);
    if (o->quiz || o->answer) {
        printf("%s: when does each task start, and which waits for whom?\n",
               o->quiz ? "Quiz" : "Answer (a FIFO queue: each task takes the "
                                  "worker that is free first)");
        for (int i = 0; i < tasks; i++) {
            if (o->quiz)
                printf("  task %d starts at ? s\n", i);
            else if (after[i] < 0)
                printf("  task %d starts at %.3f s: a worker is free\n", i,
                       predicted[i]);
            else
                printf("  task %d starts at %.3f s: it waits until task %d "
                       "ends and frees its worker\n", i, predicted[i],
                       after[i]);
        }
        if (o->quiz) {
            printf("Predict, then see: build/bin/pool --experiment timeline "
                   "--answer --seed %" PRIu64 " (and the same flags)\n",
                   o->seed);
            return EXIT_OK; /* the question only: nothing runs */
        }
        printf("The run, to check it:\n");
    }
    printf("Parent process %d.\n", (int)getpid());

    struct pool *pool = pool_create(&(struct pool_options){
        .kind = pool_kind(o), .workers = workers});
    struct pool_async *handles[MAX_SHOWN];
    double origin = clock_seconds();
    for (int i = 0; i < tasks; i++) {
        union pool_value argument = {.numbers = {i}};
        argument.reals[1] = sleeps[i];
        CHECK_POOL(pool_apply_async(pool, long_time_task, &argument, NULL,
                                    NULL, NULL, &handles[i]));
    }
    /* apply_async returned at once for every task: we are here while the
     * workers have only just begun. */
    double waiting = clock_seconds();
    printf("Waiting for all subprocesses done...\n");
    fflush(stdout);
    pool_close(pool);
    CHECK_POOL(pool_join(pool, POOL_FOREVER));
    printf("All subprocesses done.\n");

    struct pool_result results[MAX_SHOWN];
    bool right = true;
    double end = origin;
    for (int i = 0; i < tasks; i++) {
        right &= pool_async_get(handles[i], 0, &results[i]) == POOL_OK &&
                 results[i].value.numbers[0] == i;
        pool_async_release(handles[i]);
        if (results[i].finished > end)
            end = results[i].finished;
    }
    pool_destroy(pool);
    if (!right) {
        for (int i = 0; i < tasks; i++) /* e.g. its worker was killed */
            if (results[i].status != POOL_OK)
                fprintf(stderr, "pool: task %d: %s: %s\n", i,
                        pool_status_name(results[i].status), results[i].error);
        fprintf(stderr, "pool: WRONG: a task did not return its result\n");
        return EXIT_WRONG;
    }

    /* The timeline, from the times the pool recorded in the workers (one
     * monotonic clock for every process on the machine). */
    double span = end - origin;
    enum { WIDTH = 48 };
    printf("\ntimeline, 0 to %.3f s after the first apply_async (one column = "
           "%.3f s):\n", span, span / WIDTH);
    for (int i = 0; i < tasks; i++) {
        const struct pool_result *r = &results[i];
        char name[32];
        printf("  task %-2d %-14s pid %-7d ", i,
               worker_name(o, r->worker_number, name, sizeof name),
               (int)r->worker_pid);
        print_bar(r->started, r->finished, origin, span, WIDTH);
        printf(" %6.3f -> %6.3f s\n", r->started - origin,
               r->finished - origin);
    }

    /* What the timeline shows, checked: never more than `workers` tasks at
     * once, and a task beyond the first `workers` waits for a free one. */
    int most = 0;
    for (int i = 0; i < tasks; i++) {
        int running = 0; /* tasks running at the instant task i started */
        for (int k = 0; k < tasks; k++)
            running += results[k].started <= results[i].started &&
                       results[k].finished > results[i].started;
        if (running > most)
            most = running;
    }
    char took[32];
    printf("\n  \"Waiting\" was printed %s after the first apply_async: the "
           "parent did not wait.\n",
           duration_text(waiting - origin, took, sizeof took));
    printf("  At most %d task%s ran at once (%d worker%s).\n", most,
           most == 1 ? "" : "s", workers, workers == 1 ? "" : "s");
    bool queued_right = true;
    for (int i = 0; i < tasks; i++) {
        /* The task that this one's worker ran just before it, if any: the
         * latest to START on the same worker (chosen by its start, not its
         * end, so that the check below can fail: a worker that overlapped
         * two tasks would show one starting before the other ended). */
        int before = -1;
        for (int k = 0; k < tasks; k++)
            if (k != i && results[k].worker_number == results[i].worker_number &&
                results[k].started < results[i].started &&
                (before < 0 || results[k].started > results[before].started))
                before = k;
        if (before < 0)
            continue;
        queued_right &= results[i].started >= results[before].finished;
        char name[32];
        printf("  task %d waited %.3f s in the queue: it started when task %d "
               "ended and freed %s.\n",
               i, results[i].started - origin, before,
               worker_name(o, results[i].worker_number, name, sizeof name));
    }
    if (most > workers || !queued_right) {
        fprintf(stderr, "pool: WRONG: more tasks ran at once than there are "
                        "workers, or a worker ran two at once\n");
        return EXIT_WRONG;
    }
    if (o->answer) {
        /* Start-up and hand-over take milliseconds: a start within 20 ms
         * (plus 5% of the run, for a slow machine) is the predicted one. */
        double tolerance = 0.02 + 0.05 * span;
        int off = 0;
        printf("\nThe answer, checked against this run (within %.0f ms):\n",
               tolerance * 1e3);
        for (int i = 0; i < tasks; i++) {
            double measured = results[i].started - origin;
            bool near = measured - predicted[i] < tolerance &&
                        predicted[i] - measured < tolerance;
            off += !near;
            printf("  task %d: predicted %.3f s, started %.3f s: %s\n", i,
                   predicted[i], measured, near ? "as predicted" : "OFF");
        }
        printf("  %s\n", off == 0 ? "every start as predicted"
                                  : "some starts were off: a slow machine, "
                                    "or ties between equal end times");
    }
    return EXIT_OK;
}

/* ---- E5: map over a list ------------------------------------------------ */

/* The documents' clock(k): print the pid and the time, sleep.  This one
 * returns item * item, so the order of the results can be checked. */
static int clock_task(const union pool_value *argument,
                      union pool_value *result, char *error)
{
    (void)error;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now); /* for display only */
    struct tm local;
    localtime_r(&now.tv_sec, &local);
    char when[32];
    strftime(when, sizeof when, "%H:%M:%S", &local);
    log_line("item %" PRId64 ": the time is %s.%03ld", argument->numbers[0],
             when, now.tv_nsec / 1000000);
    clock_sleep(argument->reals[1]);
    result->numbers[0] = argument->numbers[0] * argument->numbers[0];
    return 0;
}

int experiment_map(const struct options *o)
{
    int workers = o->workers ? o->workers : 5;
    int items = o->tasks ? o->tasks : 20;
    double pause = o->scale; /* the documents' clock(1) sleeps 1 s */
    printf("pool: E5 -- Pool(%d) of %s, map over a list of %d items; each "
           "task sleeps %g s and returns item * item\n",
           workers, workers_word(o), items, pause);
    union pool_value *arguments = xcalloc((size_t)items, sizeof *arguments);
    struct pool_result *results = xcalloc((size_t)items, sizeof *results);
    for (int i = 0; i < items; i++) {
        arguments[i].numbers[0] = i;
        arguments[i].reals[1] = pause;
    }
    struct pool *pool = pool_create(&(struct pool_options){
        .kind = pool_kind(o), .workers = workers});
    double start = clock_seconds();
    enum pool_status status = pool_map(pool, clock_task, arguments,
                                       (size_t)items, results);
    double seconds = clock_seconds() - start;
    pool_close(pool);
    CHECK_POOL(pool_join(pool, POOL_FOREVER));
    pool_destroy(pool);

    bool right = status == POOL_OK;
    printf("map returned %d results, in the list's order:", items);
    for (int i = 0; i < items; i++) {
        printf(" %" PRId64, results[i].value.numbers[0]);
        right &= results[i].status == POOL_OK &&
                 results[i].value.numbers[0] == (int64_t)i * i;
    }
    /* The order they finished in: sort the indexes by finish time. */
    int *order = xcalloc((size_t)items, sizeof *order);
    for (int i = 0; i < items; i++) {
        int k = i;
        while (k > 0 && results[order[k - 1]].finished > results[i].finished) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    printf("\nthe tasks finished in this order:  ");
    for (int i = 0; i < items; i++)
        printf(" %d", order[i]);
    int rounds = (items + workers - 1) / workers;
    char took[32], ideal[32];
    printf("\n  elapsed %s; %d round%s of %d worker%s x %g s = %s\n",
           duration_text(seconds, took, sizeof took), rounds,
           rounds == 1 ? "" : "s", workers, workers == 1 ? "" : "s", pause,
           duration_text(rounds * pause, ideal, sizeof ideal));
    free(order);
    free(results);
    free(arguments);
    if (!right) {
        fprintf(stderr, "pool: WRONG: map's results are not item * item in "
                        "the list's order\n");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}

/* ---- main ----------------------------------------------------------------- */

_Noreturn void die_pool_status(const char *file, int line, const char *what,
                               enum pool_status status)
{
    fflush(stdout);
    fprintf(stderr, "%s:%d: %s: returned %s\n", file, line, what,
            pool_status_name(status));
    proc_kill_all_and_reap(0.5); /* leave nothing behind on this path too */
    cleanup_run();
    _exit(EXIT_SYSTEM);
}

static const char *const experiment_names[] = {
    "callbacks", "apply", "timeline", "map", "spawn-cost", "futures",
    "kill-worker", "throughput", "speedup", NULL};
static const char *const kind_names[] = {"process", "thread", "minipool",
                                         NULL};

/* Which experiments each optional flag means something to: a flag given to
 * an experiment that would ignore it is refused, not silently dropped. */
#define ONLY(e) (1u << (e))
#define ALL_BUT(mask) (((1u << EXPERIMENT_COUNT) - 1) & ~(mask))
static const struct {
    const char *flag;
    unsigned experiments;
} applies[] = {
    {"kind", ALL_BUT(ONLY(EXPERIMENT_SPAWN_COST) | ONLY(EXPERIMENT_SPEEDUP))},
    {"tasks", ALL_BUT(ONLY(EXPERIMENT_FUTURES))},
    {"iterations", ONLY(EXPERIMENT_CALLBACKS) | ONLY(EXPERIMENT_APPLY)},
    {"scale", ONLY(EXPERIMENT_TIMELINE) | ONLY(EXPERIMENT_MAP) |
                  ONLY(EXPERIMENT_FUTURES) | ONLY(EXPERIMENT_KILL_WORKER)},
    {"seed", ONLY(EXPERIMENT_TIMELINE) | ONLY(EXPERIMENT_KILL_WORKER)},
    {"work-us", ONLY(EXPERIMENT_SPEEDUP)},
    {"quiz", ONLY(EXPERIMENT_TIMELINE)},
    {"answer", ONLY(EXPERIMENT_TIMELINE)},
    {"repeat", ONLY(EXPERIMENT_APPLY) | ONLY(EXPERIMENT_SPAWN_COST) |
                   ONLY(EXPERIMENT_THROUGHPUT) | ONLY(EXPERIMENT_SPEEDUP) |
                   ONLY(EXPERIMENT_KILL_WORKER)},
    {"warmup", ONLY(EXPERIMENT_APPLY) | ONLY(EXPERIMENT_SPAWN_COST) |
                   ONLY(EXPERIMENT_THROUGHPUT) | ONLY(EXPERIMENT_SPEEDUP)},
    {"csv", ONLY(EXPERIMENT_SPAWN_COST) | ONLY(EXPERIMENT_THROUGHPUT) |
                ONLY(EXPERIMENT_SPEEDUP) | ONLY(EXPERIMENT_KILL_WORKER)},
};

static void check_combinations(const struct program *program,
                               const struct options *o)
{
    for (size_t i = 0; i < sizeof applies / sizeof applies[0]; i++) {
        if (!flags_given(program, applies[i].flag) ||
            (applies[i].experiments & ONLY(o->experiment)))
            continue;
        char list[256] = "";
        for (int e = 0; e < EXPERIMENT_COUNT; e++)
            if (applies[i].experiments & ONLY(e))
                snprintf(list + strlen(list), sizeof list - strlen(list),
                         "%s%s", list[0] ? ", " : "", experiment_names[e]);
        flags_usage_error(program, "--%s: means nothing to --experiment %s; "
                                   "it is for: %s",
                          applies[i].flag, experiment_names[o->experiment],
                          list);
    }
    if (o->quiz && o->answer)
        flags_usage_error(program, "--quiz, --answer: one or the other (the "
                                   "quiz hides what the answer shows)");
    if (o->kind == KIND_MINIPOOL && o->experiment != EXPERIMENT_THROUGHPUT)
        flags_usage_error(program, "--kind minipool: only with --experiment "
                                   "throughput (minipool.c is the pool to "
                                   "read; the experiments use common/pool)");
    if (o->experiment == EXPERIMENT_KILL_WORKER && o->kind == KIND_THREAD)
        flags_usage_error(program, "--kind thread: not with --experiment "
                                   "kill-worker (SIGKILL ends a whole "
                                   "process, not one thread)");
    if (o->experiment == EXPERIMENT_KILL_WORKER && o->workers == 1)
        flags_usage_error(program, "--workers 1: --experiment kill-worker "
                                   "needs 2 or more (one dies, another "
                                   "finishes the other tasks meanwhile)");
    if (o->experiment == EXPERIMENT_FUTURES && o->workers > 5)
        flags_usage_error(program, "--workers: --experiment futures takes 1 "
                                   "to 5 (with 6 or more no task is left "
                                   "PENDING to cancel)");
    if (o->experiment == EXPERIMENT_TIMELINE && o->tasks > MAX_SHOWN)
        flags_usage_error(program, "--tasks: --experiment timeline draws at "
                                   "most %d", MAX_SHOWN);
    if (o->experiment == EXPERIMENT_CALLBACKS && o->tasks > MAX_SHOWN)
        flags_usage_error(program, "--tasks: --experiment callbacks shows at "
                                   "most %d", MAX_SHOWN);
}

int main(int argc, char **argv)
{
    struct options o = {.iterations = 100000000, .scale = 1, .repeat = 5,
                        .warmup = 1};
    uint64_t workers = 0, tasks = 0, repeat = 5, warmup = 1, seed = 0;
    double timeout = 60;
    bool kill_worker = false;
    const char *trace_path = NULL;
    struct flag flags[] = {
        {.name = "experiment", .type = FLAG_CHOICE, .target = &o.experiment,
         .choices = experiment_names, .value_name = "NAME",
         .help = "which experiment (listed above)"},
        {.name = "kind", .type = FLAG_CHOICE, .target = &o.kind,
         .choices = kind_names, .value_name = "K",
         .help = "the pool's workers are processes or threads; minipool: "
                 "the small pool of minipool.c (throughput only)"},
        {.name = "workers", .type = FLAG_COUNT, .target = &workers, .min = 1,
         .max = POOL_MAX_WORKERS, .value_name = "W",
         .help = "the pool's workers (by default the documents' Pool(N); "
                 "the benchmarks: the cores)",
         .default_text = FLAG_DEFAULT_OWN},
        {.name = "tasks", .type = FLAG_COUNT, .target = &tasks, .min = 1,
         .max = 100000000, .value_name = "N",
         .help = "how many tasks", .default_text = FLAG_DEFAULT_OWN},
        {.name = "iterations", .type = FLAG_COUNT, .target = &o.iterations,
         .min = 1, .max = UINT64_C(1000000000000), .value_name = "N",
         .help = "callbacks, apply: each task counts to N (k, M, G "
                 "suffixes allowed)"},
        {.name = "scale", .type = FLAG_DECIMAL, .target = &o.scale, .low = 0,
         .high = 100, .value_name = "X",
         .help = "multiply the documents' sleeps by X (0.1: ten times "
                 "faster)"},
        {.name = "work-us", .type = FLAG_DECIMAL, .target = &o.work_us,
         .low = 0, .high = 1000000, .value_name = "US",
         .help = "speedup: the work per task, in microseconds (0: empty "
                 "tasks)"},
        {.name = "kill-worker", .type = FLAG_SWITCH, .target = &kill_worker,
         .help = "the same as --experiment kill-worker"},
        flag_repeat(&repeat),
        flag_warmup(&warmup),
        flag_seed_random(&seed),
        flag_quiz(&o.quiz),
        flag_answer(&o.answer),
        flag_timeout(&timeout),
        flag_csv(&o.csv),
        {.name = "trace", .type = FLAG_TEXT, .target = &trace_path,
         .value_name = "FILE",
         .help = "write a timeline (Trace Event JSON, for ui.perfetto.dev): "
                 "each task queued -> running -> done, each callback "
                 "(meant for the experiments with a few tasks)"},
        FLAG_END,
    };
    struct program program = {
        .name = "pool",
        .synopsis = "a pool of worker processes or threads: callbacks, apply "
                    "vs apply_async, a task queue, futures, a killed worker "
                    "(E3, E4, E5, E10, E15)",
        .description =
            "Experiments (--experiment NAME):\n"
            "  callbacks    E3: Pool(5), 5 counting tasks with apply_async and "
            "a callback;\n"
            "               log lines show tasks in the workers, callbacks in "
            "the parent\n"
            "               on one thread (the default)\n"
            "  apply        E4: the same tasks with apply (one after another) "
            "and with\n"
            "               apply_async (at once), timed against serial\n"
            "  timeline     E5: Pool(4), 5 tasks sleeping a random 0-3 s x "
            "--scale; the\n"
            "               fifth waits in the queue for a free worker\n"
            "  map          E5: Pool(5).map over 20 items, each sleeping "
            "--scale s;\n"
            "               results in the list's order\n"
            "  spawn-cost   E10: a fresh process per task vs a fresh thread "
            "per task vs\n"
            "               a reused pool worker, per task, in microseconds\n"
            "  futures      E15: an executor of 3 workers, 6 tasks of 2 s x "
            "--scale; every\n"
            "               future state, cancel, result with a timeout, an "
            "error carried back\n"
            "  kill-worker  SIGKILL a process worker mid-task: that task gets "
            "an error,\n"
            "               every other task its result (Python's Pool hangs)\n"
            "  throughput   empty tasks per second: apply_async, apply, and a "
            "raw pipe\n"
            "               ping-pong as the floor under apply\n"
            "  speedup      speedup over serial for --work-us of work per "
            "task: process\n"
            "               pool, thread pool, fork-per-task, "
            "thread-per-task\n\n"
            "CSV (--csv):\n"
            "  throughput   kind,api,tasks,seconds  (api: apply_async with "
            "--tasks tasks;\n"
            "               apply and pipe-pingpong with --tasks/10 round "
            "trips)\n"
            "  speedup      kind,work_us,tasks,workers,repeat,seconds\n"
            "  spawn-cost   method,tasks,workers,repeat,seconds,per_task_us\n"
            "  kill-worker  trial,tasks,workers,victim_task,victim_pid,"
            "signal,\n"
            "               error_seconds,others_ok  (one row per --repeat "
            "trial)\n"
            "  One row per repetition; every result is checked, so a run "
            "cannot be fast\n  by being wrong.",
        .exit_notes = "  Exit 1: a result was wrong or missing, or it ran "
                      "somewhere E3/E5 say it\n  cannot (a callback off the "
                      "handler thread, more tasks at once than workers);\n"
                      "  kill-worker: the killed task got no error, or "
                      "another task no result.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    if (kill_worker && flags_given(&program, "experiment") &&
        o.experiment != EXPERIMENT_KILL_WORKER)
        flags_usage_error(&program, "--kill-worker: is --experiment "
                                    "kill-worker; it cannot be combined with "
                                    "another --experiment");
    if (kill_worker)
        o.experiment = EXPERIMENT_KILL_WORKER;
    o.workers = (int)workers;
    o.tasks = (int)tasks;
    /* kill-worker narrates one trial unless asked for more. */
    o.repeat = flags_given(&program, "repeat") ||
                       o.experiment != EXPERIMENT_KILL_WORKER
                   ? (int)repeat
                   : 1;
    o.warmup = (int)warmup;
    o.seed = flags_given(&program, "seed") ? seed : clock_nanoseconds() % 1000;
    check_combinations(&program, &o);
    /* Line by line, even into a pipe: the parent's lines then interleave
     * with the workers' (which log_line() flushes) in the order they were
     * printed -- the order is what E3 and E5 are about. */
    if (!o.csv)
        setvbuf(stdout, NULL, _IOLBF, 0);

    watchdog_start(program.name, timeout);
    struct trace *trace =
        trace_path ? trace_open(trace_path, clock_seconds()) : NULL;
    pool_trace_all(trace); /* every pool from here on (common/pool.h) */
    int status = EXIT_OK;
    switch ((enum experiment)o.experiment) {
    case EXPERIMENT_CALLBACKS:   status = experiment_callbacks(&o); break;
    case EXPERIMENT_APPLY:       status = experiment_apply(&o); break;
    case EXPERIMENT_TIMELINE:    status = experiment_timeline(&o); break;
    case EXPERIMENT_MAP:         status = experiment_map(&o); break;
    case EXPERIMENT_SPAWN_COST:  status = experiment_spawn_cost(&o); break;
    case EXPERIMENT_FUTURES:     status = experiment_futures(&o); break;
    case EXPERIMENT_KILL_WORKER: status = experiment_kill_worker(&o); break;
    case EXPERIMENT_THROUGHPUT:  status = experiment_throughput(&o); break;
    case EXPERIMENT_SPEEDUP:     status = experiment_speedup(&o); break;
    case EXPERIMENT_COUNT:       break;
    }
    watchdog_stop();
    if (trace != NULL) {
        struct trace_summary written = trace_close(trace);
        if (!o.csv)
            printf("Trace: %d events in %s (open it in ui.perfetto.dev)\n",
                   written.events, trace_path);
    }
    return status;
}
