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
#include "kernel.h"
#include "proc.h"
#include "quiz.h"
#include "timing.h"
#include "trace.h"
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

/* The kernel (common/kernel.h) counts in chunks of KERNEL_CHUNK additions;
 * between chunks the worker polls the eval breaker, so under the GIL a
 * drop request is answered within about a microsecond.  How the compiler
 * is kept from deleting the loop is explained in kernel.h. */
static int calc(struct worker *self)
{
    uint64_t sum = 0;
    /* EXERCISE 7: add 1 to sum input->iterations times: kernel_count() in
     * chunks of KERNEL_CHUNK, calling worker_checkpoint(self) after each
     * chunk (the eval breaker: under the GIL that is where it changes hands) */
    const struct count_input *input = self->input;
    for (uint64_t left = input->iterations; left > 0;) {
        uint64_t chunk = left < KERNEL_CHUNK ? left : KERNEL_CHUNK;
        sum = kernel_count(sum, chunk);
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

enum { SERIAL, THREAD, THREAD_GIL, PROCESS, CONFIG_COUNT };

static const struct config configs[CONFIG_COUNT] = {
    [SERIAL] = {"serial", RUN_SERIAL, false,
     "one thread runs the tasks one after another"},
    [THREAD] = {"thread", RUN_THREADS, false,
     "one thread per task, in one process, no interpreter lock"},
    [THREAD_GIL] = {"thread+gil", RUN_THREADS, true,
     "one thread per task, each must hold the emulated GIL to count"},
    [PROCESS] = {"process", RUN_PROCESSES, false,
     "one child process per task (fork), results in shared memory"},
};

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
    struct quiz quiz; /* --quiz, --answer, --seed */
    const char *trace_path; /* --trace: a timeline of repetition 1 */
};

static struct options parse(int argc, char **argv, struct program *program)
{
    struct options options = {.mode = MODE_ALL, .workers = 5,
                              .iterations = 100000000, .repeat = 1,
                              .warmup = 1, .switch_interval_ms = 5,
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
        {.name = "switch-interval", .type = FLAG_DECIMAL,
         .target = &options.switch_interval_ms, .low = 0.01, .high = 10000,
         .value_name = "MS",
         .help = "GIL switch interval, in ms here (CPython's "
                 "sys.setswitchinterval, which takes seconds)"},
        flag_timeout(&options.timeout),
        flag_csv(&options.csv),
        {.name = "trace", .type = FLAG_TEXT, .target = &options.trace_path,
         .value_name = "FILE",
         .help = "write a timeline of repetition 1 (Trace Event JSON, for "
                 "ui.perfetto.dev): who counted, who held the GIL when"},
        flag_quiz(&options.quiz.quiz),
        flag_answer(&options.quiz.answer),
        flag_seed_random(&options.quiz.seed),
        FLAG_END,
    };
    program->flags = flags;
    flags_parse_or_exit(program, argc, argv);
    quiz_start(&options.quiz, program);
    bool quizzing = options.quiz.quiz || options.quiz.answer;
    if (quizzing && (options.mode != MODE_ALL || options.csv))
        flags_usage_error(program, "--quiz, --answer: only with --mode all "
                                   "and without --csv (the question is every "
                                   "configuration's speedup)");
    if (options.quiz.quiz && (flags_given(program, "repeat") ||
                              flags_given(program, "warmup") ||
                              flags_given(program, "timeout")))
        flags_usage_error(program, "--quiz: runs nothing, so --repeat, "
                                   "--warmup and --timeout mean nothing to "
                                   "it (give them to --answer)");
    if (options.quiz.seeded && !quizzing)
        flags_usage_error(program, "--seed: only with --quiz or --answer "
                                   "(nothing else in count is random)");
    /* A seed makes a new problem: the worker count and the size, unless
     * the command line chose them. */
    if (options.quiz.seeded) {
        static const uint64_t sizes[] = {20000000, 50000000, 100000000};
        if (!flags_given(program, "workers"))
            options.workers =
                (uint64_t)quiz_pick(&options.quiz, 1, 2 * proc_cpu_count() + 2);
        if (!flags_given(program, "iterations"))
            options.iterations = sizes[quiz_pick(&options.quiz, 0, 2)];
    }

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
        chosen[0] = SERIAL;
        return 1;
    case MODE_THREAD:
        chosen[0] = options->gil ? THREAD_GIL : THREAD;
        return 1;
    case MODE_PROCESS:
        chosen[0] = PROCESS;
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

/* The most a configuration can gain over serial in this run: min(workers,
 * the CPUs its affinity allows) for threads and processes, 1 under the GIL
 * (one thread counts at a time).  interpret() explains a run against it and
 * --answer predicts with it: the answer is the experiment's own rule. */
static int speedup_bound(int config, const struct options *options)
{
    int cpus = proc_cpu_count();
    int possible = (int)options->workers < cpus ? (int)options->workers : cpus;
    return config == THREAD || config == PROCESS ? possible : 1;
}

/* Say what the numbers mean: the reason given depends on the measured
 * speedup and on what was possible in this run (min(workers, the CPUs its
 * affinity allows)), so the words never contradict the table above them:
 * under `taskset -c 0` the cause of "no gain" is the one CPU, not the cost
 * of starting threads. */
static const char *reason(int config, double speedup, int possible, int cpus,
                          char *text, size_t size)
{
    bool gained = speedup >= 1.05, even = speedup > 0.85 && speedup < 1.15;
    const char *indent = "\n              ";
    if (speedup > possible * 1.05) {
        snprintf(text, size, "more than the %dx that is possible: the "
                 "excess is%sthe machine's noise (--repeat 5 gives medians)",
                 possible, indent);
        return text;
    }
    if ((config == THREAD || config == PROCESS) && possible == 1) {
        if (cpus == 1)
            snprintf(text, size, "this run may use one CPU only (its "
                     "affinity), so the%s%s take turns on it: nothing can "
                     "run at the same time", indent,
                     config == THREAD ? "threads" : "processes");
        else
            snprintf(text, size, "one worker: there is nothing to run at "
                     "the same time");
        return text;
    }
    switch (config) {
    case THREAD:
        if (gained)
            snprintf(text, size, "C has no interpreter lock, so the threads "
                     "count%son %d CPUs at once", indent, possible);
        else
            snprintf(text, size, "no lock holds them back, but creating and "
                     "joining%sthreads costs more than this little work",
                     indent);
        break;
    case THREAD_GIL:
        snprintf(text, size, "%s%s%s",
                 even ? "only the GIL's holder may count, so the threads"
                 : speedup < 1 ? "the threads take turns, and starting them and"
                               : "unexpected: the GIL should hold threads near the",
                 indent,
                 even ? "take turns: the documents' CPython result"
                 : speedup < 1 ? "switching costs more than this little work"
                               : "serial time");
        break;
    case PROCESS:
        if (gained)
            snprintf(text, size, "%d CPUs at once too, but each process costs "
                     "a fork,%spage faults and a reap to start and end",
                     possible, indent);
        else
            snprintf(text, size, "each process costs a fork, page faults and "
                     "a reap,%smore than this little work", indent);
        break;
    default:
        text[0] = '\0';
    }
    return text;
}

static void interpret(const double *speedups, const struct options *options)
{
    int cpus = proc_cpu_count();
    int possible = speedup_bound(THREAD, options);
    printf("\nWhat this shows (at most %dx is possible: %llu worker%s, %d "
           "CPU%s this run may use):\n",
           possible, (unsigned long long)options->workers,
           options->workers == 1 ? "" : "s", cpus, cpus == 1 ? "" : "s");
    for (int c = THREAD; c < CONFIG_COUNT; c++) {
        char text[256];
        printf("  %-11s %.2fx the serial speed: %s.\n", configs[c].label,
               speedups[c], reason(c, speedups[c], possible, cpus, text,
                                   sizeof text));
    }
}

static void print_summary(const int *chosen, int chosen_count,
                          double samples[][REPEAT_MAX],
                          const struct options *options,
                          double speedups[CONFIG_COUNT])
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
    for (int c = 0; c < chosen_count; c++) {
        struct stats s = stats_of(samples[chosen[c]], repeat);
        if (chosen[c] == SERIAL)
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
    /* The machine's own speed, computed rather than quoted: how many
     * additions one CPU does per second is a property of this CPU. */
    if (serial > 0)
        printf("  serial counted %.2f G additions per second on one CPU\n",
               (double)options->workers * (double)options->iterations /
                   serial / 1e9);
    if (chosen_count == CONFIG_COUNT)
        interpret(speedups, options);
}

/* ---- Predict, then check (--quiz, --answer) ---------------------------- */

static void print_problem(const struct options *options)
{
    const struct quiz *quiz = &options->quiz;
    int cpus = proc_cpu_count();
    /* Without --seed the problem is the command line's own: no seed to
     * print, and the answer is the same command with --answer. */
    char seed[40] = "";
    if (quiz->seeded)
        snprintf(seed, sizeof seed, " (seed %llu)",
                 (unsigned long long)quiz->seed);
    printf("count %s%s: %llu worker%s each add 1 to a sum %llu "
           "times;\n  this run may use %d CPU%s. The speedup over serial "
           "(serial time / its time) of:\n",
           quiz->quiz ? "quiz" : "answer", seed,
           (unsigned long long)options->workers,
           options->workers == 1 ? "" : "s",
           (unsigned long long)options->iterations, cpus, cpus == 1 ? "" : "s");
    for (int c = THREAD; c < CONFIG_COUNT; c++) {
        int bound = speedup_bound(c, options);
        printf("  %-11s ", configs[c].label);
        if (quiz->quiz)
            printf("?\n");
        else if (c == THREAD_GIL)
            printf("about 1x, at most 1x: one thread counts at a time, "
                   "whatever the workers\n");
        else if (bound == 1)
            printf("at most 1x: %s\n", cpus == 1 ? "one CPU, so they take "
                   "turns" : "one worker, nothing runs at the same time");
        else
            printf("at most %dx = min(%llu workers, %d CPUs)%s\n", bound,
                   (unsigned long long)options->workers, cpus,
                   c == THREAD ? ", a little less for starting threads"
                               : ", less than threads by each fork's cost");
    }
    if (quiz->quiz && quiz->seeded)
        printf("Predict, then see: build/bin/count --answer --seed %llu (and "
               "the same flags)\n", (unsigned long long)quiz->seed);
    else if (quiz->quiz)
        printf("Predict, then see: the same command with --answer in place of "
               "--quiz\n");
    else
        printf("The run, to check it:\n");
}

/* After an --answer run: each measured speedup against its prediction. */
static void check_answer(const double *speedups, const struct options *options)
{
    printf("\nThe answer, checked against this run:\n");
    for (int c = THREAD; c < CONFIG_COUNT; c++) {
        int bound = speedup_bound(c, options);
        bool within = speedups[c] <= bound * 1.05;
        printf("  %-11s predicted at most %dx, measured %.2fx: %s\n",
               configs[c].label, bound, speedups[c],
               within ? "as predicted"
                      : "above the bound: the machine's noise (try --repeat 5)");
    }
}

/* ---- If the watchdog fires: say what was running ----------------------- */

static _Atomic int running_config = -1, running_rep;

static void diagnose(void *arg, FILE *out)
{
    const struct options *options = arg;
    int config = running_config, rep = running_rep;
    if (config < 0)
        return;
    fprintf(out,
            "count: it was in the %s run, %s %d of %llu, %llu workers x %llu "
            "iterations\n"
            "count: one worker counts about 3 G iterations/s on a fast core; "
            "raise --timeout\n       or lower --iterations\n",
            configs[config].label, rep < 0 ? "warm-up" : "repetition",
            rep < 0 ? rep + (int)options->warmup + 1 : rep + 1,
            (unsigned long long)(rep < 0 ? options->warmup : options->repeat),
            (unsigned long long)options->workers,
            (unsigned long long)options->iterations);
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
            "thread,\nthread+gil and process, repetitions interleaved and "
            "their order rotated,\nso machine noise and the after-effects of "
            "one run (a fork's page faults)\nfall on all four alike; then a "
            "table of times and speedups versus serial.\nEvery worker's sum "
            "is checked; a wrong one makes the exit status 1.\n\n"
            "CSV (--csv): mode,gil,workers,iterations,rep,seconds,total\n"
            "  one row per measured repetition and configuration; seconds is "
            "the\n  wall time from the first start to the last join; total is "
            "the sum of\n  all workers' counts (workers x iterations when "
            "correct).",
        .exit_notes = NULL,
    };
    struct options options = parse(argc, argv, &program);
    if (options.quiz.quiz || options.quiz.answer)
        print_problem(&options);
    if (options.quiz.quiz)
        return EXIT_OK; /* the question only: nothing runs */
    watchdog_start(program.name, options.timeout);
    watchdog_set_diagnosis(diagnose, &options);

    int chosen[CONFIG_COUNT];
    int chosen_count = selected_configs(&options, chosen);
    int workers = (int)options.workers;
    struct count_input input = {.iterations = options.iterations};
    static double samples[CONFIG_COUNT][REPEAT_MAX]; /* seconds, per rep */
    bool all_correct = true;

    if (options.csv)
        printf("mode,gil,workers,iterations,rep,seconds,total\n");
    else
        printf("count: %d worker%s x %llu iterations; this run may use %d "
               "CPU%s (the machine has %ld); main process pid %d\n",
               workers, workers == 1 ? "" : "s",
               (unsigned long long)options.iterations, proc_cpu_count(),
               proc_cpu_count() == 1 ? "" : "s",
               sysconf(_SC_NPROCESSORS_ONLN), (int)getpid());

    /* Warm-up runs (rep < 0) are done and thrown away.  Repetitions are
     * interleaved across configurations, so a slow moment of the machine
     * lands on all of them rather than on one.  The order also rotates each
     * repetition: a run pays for its predecessor's after-effects (after a
     * fork, the parent's pages must be copied on write again), so no
     * configuration may always come after the same one.  Repetition 1, the
     * one narrated, runs in the table's order. */
    struct trace *trace = options.trace_path
                              ? trace_open(options.trace_path, clock_seconds())
                              : NULL;
    for (int rep = -(int)options.warmup; rep < (int)options.repeat; rep++) {
        int rotation = (rep % chosen_count + chosen_count) % chosen_count;
        for (int step = 0; step < chosen_count; step++) {
            int c = (step + rotation) % chosen_count;
            const struct config *config = &configs[chosen[c]];
            running_config = chosen[c];
            running_rep = rep;
            struct gil gil;
            gil_init(&gil, options.switch_interval_ms / 1000.0);
            if (trace != NULL && rep == 0 && config->gil)
                gil_set_trace(&gil, trace);
            struct worker_run run = workers_run(
                config->mode, workers, calc, &input, config->gil ? &gil : NULL);
            if (trace != NULL && rep == 0)
                workers_trace(trace, &run, config->label);

            uint64_t total = 0;
            bool correct = true;
            for (int i = 0; i < workers; i++) {
                total += run.workers[i].result;
                correct &= run.workers[i].status == 0 &&
                           run.workers[i].result == options.iterations;
            }
            if (!correct) { /* stop at the first wrong run, and show it */
                all_correct = false;
                if (!options.csv)
                    narrate_run(config, &run, &options, &gil);
                worker_run_release(&run);
                gil_destroy(&gil);
                goto done;
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
done:
    watchdog_stop();
    if (trace != NULL) {
        struct trace_summary written = trace_close(trace);
        if (!options.csv)
            printf("Trace: %d events in %s (open it in ui.perfetto.dev)\n",
                   written.events, options.trace_path);
    }

    if (!all_correct) {
        fprintf(stderr, "count: WRONG: a worker's sum is not %llu (or a "
                        "worker failed); stopped at that run, see above\n",
                (unsigned long long)options.iterations);
        return EXIT_WRONG;
    }
    if (!options.csv) {
        double speedups[CONFIG_COUNT] = {0};
        print_summary(chosen, chosen_count, samples, &options, speedups);
        printf("Check: every sum is %llu. OK\n",
               (unsigned long long)options.iterations);
        if (options.quiz.answer)
            check_answer(speedups, &options);
    }
    return EXIT_OK;
}
