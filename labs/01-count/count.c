/* count.c: CPU-bound counting, serially, in threads and in processes (E1).
 *
 * The experiment.  The documents give each of 5 tasks the same job, calc():
 * add 1 to a local sum 100,000,000 times.  They ran the 5 tasks one after
 * another, as 5 threads and as 5 processes, and reported that serial and
 * threads both took over 4 minutes while processes took 1.5: "true
 * parallelism".  Threads gained nothing because of CPython's Global
 * Interpreter Lock (GIL): only the thread holding it may run Python code.
 *
 * This program runs the same job four ways:
 *   serial      one thread runs the W tasks one after another
 *   thread      W threads: C has no GIL, so they run on all cores at once
 *   thread+gil  W threads that must hold an emulated GIL (common/gil.h)
 *               to count: the documents' result, reproduced
 *   process     W child processes, each with its own memory (and, in
 *               Python, its own interpreter and GIL)
 *
 * Run:    build/bin/count                      (all four, documents' sizes)
 *         build/bin/count --mode thread --gil --workers 2 --switch-interval 1
 *         build/bin/count --csv --repeat 5     (rows for the bench pipeline)
 * Notice: thread and process speed up to the number of cores, then stop;
 *         thread+gil stays at the serial time whatever the worker count.
 */
#include "checked.h"
#include "flags.h"
#include "gil.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- The measured work: the documents' calc() ------------------------- */

struct count_input {
    uint64_t iterations;
};

/* How often the loop polls the eval breaker.  4096 additions take about a
 * microsecond, so a GIL drop request is answered almost at once, and the
 * poll (one load, usually "no") costs nothing measurable. */
enum { CHECKPOINT_EVERY = 4096 };

static int calc(struct worker *self)
{
    const struct count_input *input = self->input;
    uint64_t sum = 0;
    for (uint64_t left = input->iterations; left > 0;) {
        uint64_t chunk = left < CHECKPOINT_EVERY ? left : CHECKPOINT_EVERY;
        for (uint64_t i = 0; i < chunk; i++) {
            sum += 1;
            /* Keep the compiler honest.  Left alone, -O2 sees that this
             * loop only adds 1 `chunk` times and replaces it with
             * sum += chunk: nothing would be measured.  This empty asm
             * statement claims to read and modify `sum` ("+r": in a
             * register), so every addition must really happen, in order.
             * It emits no instruction: the loop is one add, one increment
             * and one compare-and-branch per iteration. */
            __asm__ volatile("" : "+r"(sum));
        }
        left -= chunk;
        worker_checkpoint(self); /* under the GIL: hand it over if asked */
    }
    self->result = sum;
    return 0;
}

/* ---- The four ways to run it ------------------------------------------ */

struct config {
    const char *label;
    enum run_mode mode;
    bool gil;
    const char *explanation;
};

static const struct config configs[] = {
    {"serial", RUN_SERIAL, false,
     "one thread runs the tasks one after another"},
    {"thread", RUN_THREADS, false,
     "one thread per task, in one process, no interpreter lock"},
    {"thread+gil", RUN_THREADS, true,
     "one thread per task, each must hold the emulated GIL to count"},
    {"process", RUN_PROCESSES, false,
     "one child process per task (fork), results in shared memory"},
};
enum { CONFIG_COUNT = sizeof configs / sizeof configs[0] };

/* ---- Command line ------------------------------------------------------ */

static const char *const mode_names[] = {"all", "serial", "thread", "process",
                                         NULL};
enum { MODE_ALL, MODE_SERIAL, MODE_THREAD, MODE_PROCESS };

struct options {
    int mode;
    bool gil;
    uint64_t workers, iterations, repeat, warmup;
    double switch_interval_ms, timeout;
    bool csv;
};

static struct options parse(int argc, char **argv, struct program *program)
{
    struct options options = {.mode = MODE_ALL, .workers = 5,
                              .iterations = 100000000, .repeat = 1,
                              .warmup = 0, .switch_interval_ms = 5,
                              .timeout = 60};
    struct flag flags[] = {
        {.name = "mode", .type = FLAG_CHOICE, .target = &options.mode,
         .choices = mode_names, .value_name = "M",
         .help = "which runs: all four, or serial, thread or process alone"},
        {.name = "gil", .type = FLAG_SWITCH, .target = &options.gil,
         .help = "with --mode thread: count under the emulated GIL"},
        flag_workers(&options.workers, 1024),
        flag_iterations(&options.iterations),
        flag_repeat(&options.repeat),
        flag_warmup(&options.warmup),
        {.name = "switch-interval", .type = FLAG_SECONDS,
         .target = &options.switch_interval_ms, .low = 0.01, .high = 10000,
         .value_name = "MS",
         .help = "GIL switch interval in milliseconds (CPython's "
                 "sys.setswitchinterval)"},
        flag_timeout(&options.timeout),
        flag_csv(&options.csv),
        FLAG_END,
    };
    program->flags = flags;
    flags_parse_or_exit(program, argc, argv);

    /* Checks across flags, before anything runs. */
    if (options.gil && options.mode != MODE_THREAD)
        flags_usage_error(program,
                          "--gil: only with --mode thread (--mode all already "
                          "runs threads with and without the GIL; serial and "
                          "process have no lock to emulate)");
    if (flags_given(program, "switch-interval") && !options.gil &&
        options.mode != MODE_ALL)
        flags_usage_error(program, "--switch-interval: only applies to runs "
                                   "under the GIL (--mode thread --gil, or "
                                   "--mode all)");
    program->flags = NULL; /* the table lived on this stack frame */
    return options;
}

/* Which of the four configurations this command line asks for. */
static int selected_configs(const struct options *options, int *chosen)
{
    switch (options->mode) {
    case MODE_SERIAL:
        chosen[0] = 0;
        return 1;
    case MODE_THREAD:
        chosen[0] = options->gil ? 2 : 1;
        return 1;
    case MODE_PROCESS:
        chosen[0] = 3;
        return 1;
    default:
        for (int i = 0; i < CONFIG_COUNT; i++)
            chosen[i] = i;
        return CONFIG_COUNT;
    }
}

/* ---- Narration --------------------------------------------------------- */

static void narrate_run(const struct config *config,
                        const struct worker_run *run,
                        const struct options *options, struct gil *gil)
{
    printf("\n== %s: %s\n", config->label, config->explanation);
    for (int i = 0; i < run->count; i++) {
        const struct worker *w = &run->workers[i];
        char outcome[64] = "";
        if (w->status != 0)
            proc_describe_exitcode(w->status, outcome, sizeof outcome);
        char took[32];
        printf("  %-9s pid %-7d tid %-7d sum %-12llu %9s  %s%s\n", w->name,
               (int)w->pid, (int)w->tid, (unsigned long long)w->result,
               duration_text(w->finished - w->started, took, sizeof took),
               w->result == options->iterations ? "ok" : "WRONG ", outcome);
    }
    if (config->gil) {
        struct gil_counters counters = gil_counters(gil);
        printf("  GIL: %llu acquisitions, %llu forced switches (interval "
               "%g ms), threads waited %.3f s in all\n",
               (unsigned long long)counters.acquisitions,
               (unsigned long long)counters.forced_switches,
               options->switch_interval_ms, counters.wait_seconds);
    }
    char took[32];
    printf("  total %s for %d x %llu additions\n",
           duration_text(run->seconds, took, sizeof took), run->count,
           (unsigned long long)options->iterations);
}

/* Say what the numbers mean, worded from the numbers themselves. */
static void interpret(const double *speedups, const struct options *options)
{
    int cpus = proc_cpu_count();
    int possible = (int)options->workers < cpus ? (int)options->workers : cpus;
    printf("\nWhat this shows (at most %dx is possible: %llu worker%s, %d "
           "CPU%s):\n",
           possible, (unsigned long long)options->workers,
           options->workers == 1 ? "" : "s", cpus, cpus == 1 ? "" : "s");
    const char *why[CONFIG_COUNT] = {
        NULL,
        "C has no interpreter lock, so the threads count\n"
        "              on every CPU at once",
        "only the GIL's holder may count, so the threads\n"
        "              take turns: the documents' CPython result",
        "every CPU at once too, but each process costs a fork,\n"
        "              page faults and a reap to start and end",
    };
    bool too_little_work = false;
    for (int c = 1; c < CONFIG_COUNT; c++) {
        printf("  %-11s %.2fx the serial speed: %s.\n", configs[c].label,
               speedups[c], why[c]);
        too_little_work |= c != 2 && speedups[c] < 0.95;
    }
    if (too_little_work)
        printf("  Here starting workers costs more than the work itself: try "
               "more --iterations.\n");
}

static void print_summary(const int *chosen, int chosen_count,
                          double samples[][1000], const struct options *options)
{
    int repeat = (int)options->repeat;
    printf("\nSummary: %llu worker%s x %llu iterations, %d CPU%s, median of %d "
           "run%s",
           (unsigned long long)options->workers, options->workers == 1 ? "" : "s",
           (unsigned long long)options->iterations, proc_cpu_count(),
           proc_cpu_count() == 1 ? "" : "s", repeat, repeat == 1 ? "" : "s");
    printf(chosen_count > 1 ? " (speedup = serial time / time)\n" : "\n");
    printf("  %-11s %10s %10s %10s %9s\n", "mode", "median", "min", "max",
           chosen_count > 1 ? "speedup" : "");
    double serial = 0;
    double speedups[CONFIG_COUNT] = {0};
    for (int c = 0; c < chosen_count; c++) {
        struct stats s = stats_of(samples[chosen[c]], repeat);
        if (chosen[c] == 0)
            serial = s.median;
        char median[32], min[32], max[32];
        printf("  %-11s %10s %10s %10s", configs[chosen[c]].label,
               duration_text(s.median, median, sizeof median),
               duration_text(s.min, min, sizeof min),
               duration_text(s.max, max, sizeof max));
        if (chosen_count > 1 && serial > 0) {
            speedups[chosen[c]] = serial / s.median;
            printf(" %8.2fx", speedups[chosen[c]]);
        }
        putchar('\n');
    }
    if (chosen_count == CONFIG_COUNT)
        interpret(speedups, options);
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct program program = {
        .name = "count",
        .synopsis = "CPU-bound counting serially, in threads, in threads "
                    "under an emulated GIL, and in processes (E1)",
        .description =
            "Each of W workers adds 1 to a local sum N times (the documents' "
            "calc()).\n"
            "--mode all (the default) runs the whole experiment: serial, "
            "thread,\nthread+gil and process, repetitions interleaved so "
            "machine noise hits\nall four alike, then a table of times and "
            "speedups versus serial.\nEvery worker's sum is checked; a wrong "
            "one makes the exit status 1.\n\n"
            "CSV (--csv): mode,gil,workers,iterations,rep,seconds,total\n"
            "  one row per measured repetition and configuration; seconds is "
            "the\n  wall time from the first start to the last join; total is "
            "the sum of\n  all workers' counts (workers x iterations when "
            "correct).",
        .exit_notes = NULL,
    };
    struct options options = parse(argc, argv, &program);
    watchdog_start(program.name, options.timeout);

    int chosen[CONFIG_COUNT];
    int chosen_count = selected_configs(&options, chosen);
    int workers = (int)options.workers;
    struct count_input input = {.iterations = options.iterations};
    static double samples[CONFIG_COUNT][1000]; /* seconds, per repetition */
    bool all_correct = true;

    if (options.csv)
        printf("mode,gil,workers,iterations,rep,seconds,total\n");
    else
        printf("count: %d worker%s x %llu iterations; this machine has %d "
               "CPU%s; main process pid %d\n",
               workers, workers == 1 ? "" : "s",
               (unsigned long long)options.iterations, proc_cpu_count(),
               proc_cpu_count() == 1 ? "" : "s", (int)getpid());

    /* Warm-up runs (rep < 0) are done and thrown away.  Repetitions are
     * interleaved across configurations, so a slow moment of the machine
     * lands on all of them rather than on one. */
    for (int rep = -(int)options.warmup; rep < (int)options.repeat; rep++) {
        for (int c = 0; c < chosen_count; c++) {
            const struct config *config = &configs[chosen[c]];
            struct gil gil;
            gil_init(&gil, options.switch_interval_ms / 1000.0);
            struct worker_run run = workers_run(
                config->mode, workers, calc, &input, config->gil ? &gil : NULL);

            uint64_t total = 0;
            for (int i = 0; i < workers; i++) {
                total += run.workers[i].result;
                if (run.workers[i].status != 0 ||
                    run.workers[i].result != options.iterations)
                    all_correct = false;
            }
            if (rep >= 0) {
                samples[chosen[c]][rep] = run.seconds;
                if (options.csv)
                    printf("%s,%d,%d,%llu,%d,%.6f,%llu\n",
                           run_mode_name(config->mode), config->gil, workers,
                           (unsigned long long)options.iterations, rep + 1,
                           run.seconds, (unsigned long long)total);
                else if (rep == 0)
                    narrate_run(config, &run, &options, &gil);
            }
            worker_run_release(&run);
            gil_destroy(&gil);
        }
    }
    watchdog_stop();

    if (!options.csv)
        print_summary(chosen, chosen_count, samples, &options);
    if (!all_correct) {
        fprintf(stderr, "count: WRONG: at least one worker's sum is not %llu "
                        "(or a worker failed); see above\n",
                (unsigned long long)options.iterations);
        return EXIT_WRONG;
    }
    if (!options.csv)
        printf("Check: every sum is %llu. OK\n",
               (unsigned long long)options.iterations);
    return EXIT_OK;
}
