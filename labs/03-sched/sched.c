/* sched.c: lab 03 -- who runs when on one core (E16), and where threads
 * catch up with processes (E13): the command line and the scheduler facts.
 *
 * The documents say two things this lab measures instead of repeating:
 *   - on one core the operating system lets task 1 run "0.01 s", then task
 *     2, then task 3..., so fast that they look parallel (003);
 *   - processes suit CPU-bound work, threads suit IO-bound work (000, 004).
 *
 * The experiments, one file each:
 *   timeslice.c  (the default) W CPU-bound workers pinned to one CPU; each
 *                watches its own clock and writes down every moment it was
 *                off the CPU; the lab draws who ran when and compares it
 *                with the kernel's own count (/proc/thread-self/schedstat)
 *   crossover.c  tasks of CPU work plus blocking IO, run serially, in
 *                threads, in threads under an emulated GIL, in processes:
 *                where GIL threads meet processes as the IO share grows;
 *                and the GIL's convoy effect on an IO thread
 *   delay_server.c  the loopback server the IO waits on
 *
 * Run:    build/bin/sched                        (3 processes on one CPU)
 *         build/bin/sched --nice 0,5             (weights: 1024 vs 335)
 *         build/bin/sched --experiment crossover --cpu 2 --io-ms 8
 *         build/bin/sched --trace /tmp/t.json    (open it in ui.perfetto.dev)
 *         build/bin/sched --quiz --seed 7        (predict, then --answer)
 */
#define _GNU_SOURCE
#include "sched.h"

#include "checked.h"
#include "flags.h"
#include "proc.h"
#include "watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* ---- Scheduler facts --------------------------------------------------- */

int nice_weight(int nice)
{
    /* kernel/sched/core.c, sched_prio_to_weight[]: nice -20 ... 19.  The
     * step is ~1.25x, so one nice level is ~10% of the CPU between two
     * competing tasks. */
    static const int weights[40] = {
        88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
        9548,  7620,  6100,  4904,  3906,  3121,  2501,  1991,  1586,  1277,
        1024,  820,   655,   526,   423,   335,   272,   215,   172,   137,
        110,   87,    70,    56,    45,    36,    29,    23,    18,    15,
    };
    if (nice < -20)
        nice = -20;
    if (nice > 19)
        nice = 19;
    return weights[nice + 20];
}

double nice_share(const struct options *options, int index)
{
    double total = 0;
    for (int i = 0; i < (int)options->workers; i++)
        total += nice_weight(options->nice_count ? options->nice[i] : 0);
    return nice_weight(options->nice_count ? options->nice[index] : 0) / total;
}

/* CONFIG_HZ from the kernel's own configuration, when it publishes it
 * (/proc/config.gz needs CONFIG_IKCONFIG_PROC; Debian ships
 * /boot/config-RELEASE instead).  Returns 0 when neither is there. */
static int config_hz(const char *release)
{
    char command[512];
    snprintf(command, sizeof command,
             "{ gzip -dc /proc/config.gz || cat /boot/config-%s; } 2>/dev/null"
             " | sed -n 's/^CONFIG_HZ=//p'",
             release);
    FILE *pipe = popen(command, "r");
    if (pipe == NULL)
        return 0;
    int hz = 0;
    if (fscanf(pipe, "%d", &hz) != 1)
        hz = 0;
    pclose(pipe);
    return hz;
}

void describe_scheduler(char *text, int size)
{
    struct utsname name;
    CHECK(uname(&name));
    int major = 0, minor = 0;
    sscanf(name.release, "%d.%d", &major, &minor);
    bool eevdf = major > 6 || (major == 6 && minor >= 6);
    int hz = config_hz(name.release);
    char tick[64] = "HZ unknown (no /proc/config.gz or /boot/config)";
    if (hz > 0)
        snprintf(tick, sizeof tick, "CONFIG_HZ=%d (a tick every %g ms)", hz,
                 1000.0 / hz);
    snprintf(text, (size_t)size, "Linux %s: %s; %s", name.release,
             eevdf ? "EEVDF scheduler (the default since Linux 6.6)"
                   : "CFS scheduler (the default before Linux 6.6)",
             tick);
}

/* ---- Command line ------------------------------------------------------ */

static const char *const experiment_names[] = {"timeslice", "crossover",
                                               "convoy", NULL};
static const char *const kind_names[] = {"process", "thread", NULL};
static const char *const io_names[] = {"net", "sleep", "file", NULL};
static const char *const mode_names[] = {"all", "serial", "thread", "process",
                                         NULL};

/* "0,5,-5" -> {0, 5, -5}; false on anything else. */
static bool parse_nice_list(const char *text, int *values, int *count)
{
    *count = 0;
    const char *at = text;
    for (;;) {
        char *end;
        long value = strtol(at, &end, 10);
        if (end == at || value < -20 || value > 19 || *count >= NICE_MAX_WORKERS)
            return false;
        values[(*count)++] = (int)value;
        if (*end == '\0')
            return true;
        if (*end != ',')
            return false;
        at = end + 1;
    }
}

static struct options parse(int argc, char **argv, struct program *program)
{
    int cpus = proc_cpu_count();
    struct options o = {
        .experiment = EXPERIMENT_TIMESLICE, .workers = 3, .repeat = 1,
        .warmup = 0, .timeout = 60, .kind = KIND_PROCESS, .seconds = 0.2,
        .gap_us = 50, .capacity = 4096, .mode = MODE_ALL, .io = IO_NET,
        .cpu_ms = 2, .io_ms = 8, .tasks = 0, .file_kib = 1024,
        .switch_interval_ms = 5, .requests = 50,
    };
    struct flag workers = flag_workers(&o.workers, NICE_MAX_WORKERS);
    workers.default_text = "3; crossover: 4 x the CPUs; convoy: 1 + 1";
    struct flag flags[] = {
        {.name = "experiment", .type = FLAG_CHOICE, .target = &o.experiment,
         .choices = experiment_names, .value_name = "E",
         .help = "timeslice (E16), crossover (E13) or convoy (the GIL and IO)"},
        workers,
        flag_repeat(&o.repeat),
        flag_warmup(&o.warmup),
        flag_timeout(&o.timeout),
        flag_csv(&o.csv),
        {.name = "trace", .type = FLAG_TEXT, .target = &o.trace_path,
         .value_name = "FILE",
         .help = "write a timeline (Trace Event JSON) for ui.perfetto.dev"},
        /* timeslice */
        {.name = "kind", .type = FLAG_CHOICE, .target = &o.kind,
         .choices = kind_names, .value_name = "K",
         .help = "timeslice: the workers are processes or threads"},
        {.name = "seconds", .type = FLAG_DECIMAL, .target = &o.seconds,
         .low = 0.01, .high = 60, .value_name = "S",
         .help = "timeslice: how long the workers compete"},
        {.name = "gap-us", .type = FLAG_DECIMAL, .target = &o.gap_us,
         .low = 1, .high = 100000, .value_name = "US",
         .help = "timeslice: a jump of the worker's clock longer than this "
                 "is time off the CPU"},
        {.name = "capacity", .type = FLAG_COUNT, .target = &o.capacity,
         .min = 1, .max = 1000000, .value_name = "N",
         .help = "timeslice: gaps each worker can record (more are counted)"},
        {.name = "all-cores", .type = FLAG_SWITCH, .target = &o.all_cores,
         .help = "timeslice: do not pin; the workers may use every CPU"},
        {.name = "nice", .type = FLAG_TEXT, .target = &o.nice_list,
         .value_name = "LIST",
         .help = "timeslice: one nice value per worker, e.g. 0,5"},
        {.name = "misplace-worker", .type = FLAG_COUNT, .target = &o.misplace,
         .min = 0, .max = NICE_MAX_WORKERS - 1, .value_name = "I",
         .help = "timeslice: pin worker I to another CPU on purpose (the "
                 "pinning check must fail)"},
        /* crossover and convoy */
        {.name = "mode", .type = FLAG_CHOICE, .target = &o.mode,
         .choices = mode_names, .value_name = "M",
         .help = "crossover: all four, or serial, thread or process alone"},
        {.name = "gil", .type = FLAG_SWITCH, .target = &o.gil,
         .help = "crossover: with --mode thread, under the emulated GIL"},
        {.name = "io", .type = FLAG_CHOICE, .target = &o.io,
         .choices = io_names, .value_name = "IO",
         .help = "crossover: net (a loopback server), sleep (no IO) or file"},
        {.name = "cpu", .type = FLAG_DECIMAL, .target = &o.cpu_ms, .low = 0,
         .high = 10000, .value_name = "MS",
         .help = "crossover: CPU work per task (the counting loop), in ms"},
        {.name = "io-ms", .type = FLAG_DECIMAL, .target = &o.io_ms, .low = 0,
         .high = 10000, .value_name = "MS",
         .help = "crossover, convoy: the server's (or sleep's) delay per task"},
        {.name = "tasks", .type = FLAG_COUNT, .target = &o.tasks, .min = 1,
         .max = 100000, .value_name = "N",
         .help = "crossover: tasks per run", .default_text = "2 per worker"},
        {.name = "file-kib", .type = FLAG_COUNT, .target = &o.file_kib,
         .min = 4, .max = 1048576, .value_name = "KIB",
         .help = "crossover --io file: KiB each task reads"},
        {.name = "switch-interval", .type = FLAG_DECIMAL,
         .target = &o.switch_interval_ms, .low = 0.01, .high = 10000,
         .value_name = "MS", .help = "the emulated GIL's switch interval, ms"},
        {.name = "requests", .type = FLAG_COUNT, .target = &o.requests,
         .min = 1, .max = 100000, .value_name = "N",
         .help = "convoy: requests the IO thread makes in each setting"},
        flag_quiz(&o.quiz.quiz),
        flag_answer(&o.quiz.answer),
        flag_seed_random(&o.quiz.seed),
        FLAG_END,
    };
    program->flags = flags;
    flags_parse_or_exit(program, argc, argv);
    quiz_start(&o.quiz, program); /* refuses --quiz with --answer */

    o.workers_given = flags_given(program, "workers");
    o.tasks_given = flags_given(program, "tasks");
    o.misplace_given = flags_given(program, "misplace-worker");
    static const char *const timeslice_only[] = {
        "kind", "seconds", "gap-us", "capacity", "all-cores", "nice",
        "misplace-worker", NULL};
    static const char *const crossover_only[] = {
        "mode", "gil", "io", "cpu", "tasks", "file-kib", NULL};
    if (o.experiment != EXPERIMENT_TIMESLICE)
        for (int i = 0; timeslice_only[i]; i++)
            if (flags_given(program, timeslice_only[i]))
                flags_usage_error(program, "--%s: only with --experiment "
                                  "timeslice", timeslice_only[i]);
    if (o.experiment != EXPERIMENT_CROSSOVER)
        for (int i = 0; crossover_only[i]; i++)
            if (flags_given(program, crossover_only[i]))
                flags_usage_error(program, "--%s: only with --experiment "
                                  "crossover", crossover_only[i]);
    if (o.experiment == EXPERIMENT_TIMESLICE) {
        if (flags_given(program, "io-ms") ||
            flags_given(program, "switch-interval") ||
            flags_given(program, "requests"))
            flags_usage_error(program, "--io-ms, --switch-interval and "
                              "--requests: only with --experiment crossover "
                              "or convoy");
    }
    if (o.experiment != EXPERIMENT_TIMESLICE && o.trace_path != NULL)
        flags_usage_error(program, "--trace: only with --experiment timeslice "
                                   "(the GIL's timeline: count --trace; a "
                                   "pool's: pool --trace)");
    if (o.experiment == EXPERIMENT_CONVOY && o.workers_given)
        flags_usage_error(program, "--workers: convoy runs one IO thread "
                                   "and one CPU thread");
    if (o.nice_list) {
        if (!parse_nice_list(o.nice_list, o.nice, &o.nice_count))
            flags_usage_error(program, "--nice: '%s' is not a list of nice "
                              "values; expected whole numbers from -20 to 19 "
                              "separated by commas, at most %d", o.nice_list,
                              NICE_MAX_WORKERS);
        if (o.workers_given && o.workers != (uint64_t)o.nice_count)
            flags_usage_error(program, "--nice: %d values for --workers %llu; "
                              "give one per worker (or leave out --workers)",
                              o.nice_count, (unsigned long long)o.workers);
        o.workers = (uint64_t)o.nice_count;
    }
    /* The quiz asks for each worker's share of one CPU: only a pinned,
     * narrated timeslice run has that question and shows its answer. */
    bool quizzing = o.quiz.quiz || o.quiz.answer;
    if (quizzing) {
        const char *which = o.quiz.quiz ? "--quiz" : "--answer";
        if (o.experiment != EXPERIMENT_TIMESLICE)
            flags_usage_error(program, "%s: only with --experiment timeslice "
                              "(the question is each worker's CPU share)",
                              which);
        if (o.csv || o.all_cores || o.misplace_given || o.trace_path)
            flags_usage_error(program, "%s: not with --csv, --all-cores, "
                              "--misplace-worker or --trace (the question is "
                              "the shares of workers pinned to one CPU, "
                              "narrated)", which);
    }
    if (o.quiz.seeded && !quizzing)
        flags_usage_error(program, "--seed: only with --quiz or --answer "
                                   "(nothing else in sched is random)");
    /* A seed makes a new problem: 2 to 4 workers (unless --workers says)
     * and a nice value for each, from 0 to 10 (a negative one needs root). */
    if (o.quiz.seeded) {
        if (o.nice_list)
            flags_usage_error(program, "--seed: nothing to draw: --nice gives "
                                       "every worker's nice value (leave out "
                                       "one or the other)");
        if (!o.workers_given)
            o.workers = (uint64_t)quiz_pick(&o.quiz, 2, 4);
        o.nice_count = (int)o.workers;
        for (int i = 0; i < o.nice_count; i++)
            o.nice[i] = quiz_pick(&o.quiz, 0, 10);
        /* all alike would be a question without a difference: move the
         * last one by 1 to 10 steps (still within 0 to 10) */
        int last = o.nice_count - 1;
        bool alike = true;
        for (int i = 0; i < last; i++)
            alike &= o.nice[i] == o.nice[last];
        if (alike && last > 0)
            o.nice[last] = (o.nice[last] + quiz_pick(&o.quiz, 1, 10)) % 11;
    }
    if (o.misplace_given) {
        if (o.all_cores)
            flags_usage_error(program, "--misplace-worker: only when pinned "
                                       "(not with --all-cores)");
        if (o.misplace >= o.workers)
            flags_usage_error(program, "--misplace-worker: %llu is not a "
                              "worker; expected 0 to %llu",
                              (unsigned long long)o.misplace,
                              (unsigned long long)o.workers - 1);
        if (cpus < 2)
            flags_usage_error(program, "--misplace-worker: needs a second "
                                       "CPU to misplace a worker on; this "
                                       "process may use one");
    }
    if (o.gil && o.mode != MODE_THREAD)
        flags_usage_error(program, "--gil: only with --mode thread (--mode "
                                   "all already runs threads with and "
                                   "without the GIL)");
    if (o.experiment == EXPERIMENT_CROSSOVER) {
        if (o.io == IO_FILE && flags_given(program, "io-ms"))
            flags_usage_error(program, "--io-ms: not with --io file (a file "
                              "read takes what the disk takes; set its size "
                              "with --file-kib)");
        if (o.io != IO_FILE && flags_given(program, "file-kib"))
            flags_usage_error(program, "--file-kib: only with --io file");
        if (!o.workers_given)
            o.workers = (uint64_t)(4 * cpus);
        if (o.workers > NICE_MAX_WORKERS)
            o.workers = NICE_MAX_WORKERS;
        if (!o.tasks_given)
            o.tasks = 2 * o.workers;
        if (o.cpu_ms == 0 && o.io_ms == 0 && o.io != IO_FILE)
            flags_usage_error(program, "--cpu and --io-ms: both are 0; a task "
                                       "must do something");
    }
    program->flags = NULL; /* the table lived on this stack frame */
    return o;
}

int main(int argc, char **argv)
{
    struct program program = {
        .name = "sched",
        .synopsis = "time slicing on one core (E16), and where threads catch "
                    "up with processes as IO grows (E13)",
        .description =
            "--experiment timeslice (the default): W CPU-bound workers "
            "(processes, or\nthreads with --kind thread) pinned to one CPU, "
            "the last this process may\nuse.  Each reads its clock in a tight "
            "loop; a jump longer than --gap-us\nis time it spent off the CPU, "
            "written into its own shared-memory record;\na gap without a "
            "context switch (getrusage) is a pause, which ends no\nslice.  "
            "Printed: a timeline (one row per worker, one character per ms),\n"
            "each worker's slices, waits and CPU share, and the kernel's own "
            "count from\n"
            "/proc/thread-self/schedstat.  --nice 0,5 gives the workers "
            "weights\n(1024 vs 335) and compares the shares with them.  "
            "Checked: every worker\nran only on that CPU, and no two of them "
            "ran at the same time (exit 1\notherwise).\n\n"
            "--experiment crossover: each task counts for --cpu ms, then "
            "waits --io-ms\nfor a loopback server this program starts (the "
            "client blocks in recv, as\non a network call); --io sleep waits "
            "without IO, --io file reads a file\ndropped from the page cache. "
            " Run serially, in threads, in threads under\nthe emulated GIL "
            "(released around the IO, as CPython does) and in\nprocesses.  "
            "Checked: every task counted right and got its own answer.\n\n"
            "--experiment convoy: one thread makes --requests requests of "
            "--io-ms each,\nalone, then beside a CPU-bound thread under the "
            "GIL, then beside it\nwithout the GIL: its latency grows by up to "
            "the switch interval.\n\n"
            "--quiz (timeslice) prints the workers and their nice values "
            "with ? for\neach one's CPU share, and runs nothing; --answer "
            "(same flags) computes\nthe shares from the kernel's weight "
            "table, runs the workers and sets\neach measured share beside "
            "its prediction (within 5 points: a verdict,\nnot an exit "
            "status).  --seed S draws 2-4 workers and their nice values.\n\n"
            "CSV (--csv), one row per worker (timeslice), per run "
            "(crossover) or per\nrequest (convoy) and repetition; the "
            "columns are named in the header:\n"
            "  timeslice: rep,worker,kind,nice,pinned,cpu,slices,"
            "kernel_slices,...,share,...\n"
            "  crossover: mode,gil,io,io_fraction,workers,tasks,...,seconds,"
            "total\n"
            "  convoy:    setting,request,latency_ms",
        .exit_notes = "  1 also: a worker ran off its CPU, two pinned workers "
                      "ran at once, a\n    recorded gap is inconsistent, or a "
                      "task's count or answer is wrong",
    };
    struct options options = parse(argc, argv, &program);
    watchdog_start(program.name, options.timeout);
    int status;
    switch (options.experiment) {
    case EXPERIMENT_CROSSOVER:
        status = run_crossover(&options);
        break;
    case EXPERIMENT_CONVOY:
        status = run_convoy(&options);
        break;
    default:
        status = run_timeslice(&options);
        break;
    }
    watchdog_stop();
    return status;
}
