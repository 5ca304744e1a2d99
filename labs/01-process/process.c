/* process.c: the life of a process (E2) and how a new one starts (E18) --
 * the flags, the dispatch on argv, and main.
 *
 * The experiment.  The documents create a multiprocessing.Process from a
 * target function and by subclassing (overriding run()), start it, join it,
 * and list its attributes: name, pid, daemon, exitcode (None while running,
 * -N when killed by signal N), authkey; and its methods: start, run,
 * terminate, is_alive, join([timeout]); and active_children(), cpu_count().
 * They warn that terminate() can leave zombies and held locks behind, and
 * that without `if __name__ == "__main__":` a new process re-runs the
 * program's start and creates processes forever.
 *
 * Here each of those is done on a real child (api.c and the files it
 * names), and the start of a process is timed seven ways (start_cost.c).
 *
 *   --experiment api            (default) every Process topic below, in order
 *   --experiment clock          the documents' clock worker, from a target
 *                               and by "subclassing", side by side
 *   --experiment workers        three workers of 2, 3, 4 s; END first
 *   --experiment attributes     name, pid, ppid, is_alive, exitcode, join(t)
 *   --experiment terminate      terminate() -> -15, kill() -> -9
 *   --experiment active-children  a zombie in /proc, reaped by looking
 *   --experiment cpu-count      the machine's CPUs vs the process's affinity
 *   --experiment daemon         daemon children end at exit, others are
 *                               waited for; a daemon may not start children
 *   --experiment authkey        the secret every child inherits
 *   --experiment exitcodes      every exit code, from real wait statuses
 *   --experiment leftovers      what terminate() leaves behind (leftovers.c)
 *   --experiment start-cost     fork, exec, spawn, forkserver, thread, timed
 *   --experiment no-guard       a program that starts itself (no_guard.c)
 *   --experiment fork-with-threads  fork copies a lock another thread holds
 *
 * Run:    build/bin/process --pause-scale 0.01
 *         build/bin/process --experiment start-cost --parent-mib 0,256
 * Notice: which lines are printed by which pid, and that every exit code
 *         comes from the kernel's wait status, not from the program's say-so.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "quiz.h"
#include "timing.h"
#include "watchdog.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct settings settings;

double scaled(double seconds) { return seconds * settings.pause_scale; }

void pause_for(double seconds) { clock_sleep(scaled(seconds)); }

void say(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vprintf(format, arguments);
    va_end(arguments);
    putchar('\n');
    fflush(stdout);
}

static const char *const experiment_names[] = {
    "api",      "clock",     "workers",    "attributes",   "terminate",
    "active-children", "cpu-count", "daemon", "authkey",   "exitcodes",
    "leftovers", "start-cost", "no-guard", "fork-with-threads", NULL};
enum {
    EXP_API, EXP_CLOCK, EXP_WORKERS, EXP_ATTRIBUTES, EXP_TERMINATE,
    EXP_ACTIVE, EXP_CPU, EXP_DAEMON, EXP_AUTHKEY, EXP_EXITCODES,
    EXP_LEFTOVERS, EXP_START_COST, EXP_NO_GUARD, EXP_FORK_THREADS
};

static int (*const experiments[])(void) = {
    [EXP_API] = run_api,
    [EXP_CLOCK] = run_clock,
    [EXP_WORKERS] = run_workers,
    [EXP_ATTRIBUTES] = run_attributes,
    [EXP_TERMINATE] = run_terminate,
    [EXP_ACTIVE] = run_active_children,
    [EXP_CPU] = run_cpu_count,
    [EXP_DAEMON] = run_daemon,
    [EXP_AUTHKEY] = run_authkey,
    [EXP_EXITCODES] = run_exitcodes,
    [EXP_LEFTOVERS] = run_leftovers,
    [EXP_START_COST] = run_start_cost,
    [EXP_NO_GUARD] = run_no_guard,
    [EXP_FORK_THREADS] = run_fork_with_threads,
};

/* MemAvailable from /proc/meminfo, in MiB (0 if unknown). */
static uint64_t available_mib(void)
{
    FILE *file = fopen("/proc/meminfo", "r");
    if (file == NULL)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, file) != NULL)
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
            break;
    fclose(file);
    return kib / 1024;
}

/* If the watchdog fires: which experiment was running (every wait in this
 * lab is bounded, so only a broken lab or a machine out of processes gets
 * here), and for no-guard how deep the chain had grown. */
static void diagnose(void *arg, FILE *out)
{
    const int *experiment = arg;
    fprintf(out, "process: the run was in --experiment %s",
            experiment_names[*experiment]);
    if (*experiment == EXP_NO_GUARD)
        fprintf(out, ", at depth %d of the chain of programs (each one waits "
                     "for the one it started)", no_guard_depth());
    fprintf(out, "\n");
}

int main(int argc, char **argv)
{
    /* C's `if __name__ == "__main__":`.  A program started by exec begins
     * at main again, with nothing of its parent's memory.  What it does
     * depends only on its argv (and environment): here `--child ROLE`
     * means "you are a child started by the start-cost experiment; do
     * your small part and end", and never runs an experiment.  Without
     * such a test the new program would run the experiment -- start
     * another program, which starts another... (--experiment no-guard). */
    if (argc >= 2 && strcmp(argv[1], "--child") == 0)
        return child_role(argc, argv);

    int experiment = EXP_API, method = 0;
    double timeout = 60, pause_scale = 1;
    bool csv = false;
    struct quiz quiz = {0};
    uint64_t repeat = 5, warmup = 1, iterations = 20, depth = 5;
    struct flag_list parent_mib = {.count = 4, .values = {0, 64, 256, 1024}};
    /* The shared --iterations, counting starts here. */
    struct flag starts = flag_iterations(&iterations);
    starts.max = 1000000;
    starts.help = "start-cost: starts per repetition (each row is their mean)";
    struct flag flags[] = {
        {.name = "experiment", .type = FLAG_CHOICE, .target = &experiment,
         .choices = experiment_names, .value_name = "E",
         .help = "which experiment (see above)"},
        {.name = "pause-scale", .type = FLAG_DECIMAL, .target = &pause_scale,
         .low = 0.001, .high = 100, .value_name = "X",
         .help = "scale the documents' sleeps (clock 1 s, workers 2-4 s)"},
        {.name = "parent-mib", .type = FLAG_LIST, .target = &parent_mib,
         .min = 0, .max = 8192, .value_name = "LIST",
         .help = "start-cost: parent sizes to map and touch first, MiB"},
        {.name = "method", .type = FLAG_CHOICE, .target = &method,
         .choices = start_method_names, .value_name = "M",
         .help = "start-cost: time only this method (default all)"},
        {.name = "depth", .type = FLAG_COUNT, .target = &depth, .min = 1,
         .max = 50, .value_name = "D",
         .help = "no-guard: the bound on programs starting programs"},
        flag_repeat(&repeat),
        flag_warmup(&warmup),
        starts,
        flag_timeout(&timeout),
        flag_csv(&csv),
        flag_quiz(&quiz.quiz),
        flag_answer(&quiz.answer),
        flag_seed_random(&quiz.seed),
        FLAG_END,
    };
    struct program program = {
        .name = "process",
        .synopsis = "the life of a process -- the Process API on real "
                    "children (E2) -- and how a new one starts (E18)",
        .description =
            "Experiments (--experiment): api (default: clock, workers, "
            "attributes, terminate,\nactive-children, cpu-count, daemon, "
            "authkey in turn), each of those alone, and:\n"
            "  exitcodes          one child per way of ending; its exit code "
            "from the wait status\n"
            "  leftovers          terminate() while holding a lock, and "
            "orphaned grandchildren\n"
            "  start-cost         create + wait, timed: fork, fork-exec, "
            "vfork-exec, posix-spawn,\n"
            "                     clone-vm, forkserver, thread, and proc "
            "(this suite's proc_start)\n"
            "  no-guard           a program that starts itself at every "
            "start, bounded by --depth\n"
            "  fork-with-threads  fork while another thread holds a lock; "
            "then from a forkserver\n\n"
            "Sleeps are the documents' (clock every 1 s, workers of 2, 3 and "
            "4 s) times --pause-scale.\n"
            "`process --child exit` is what the exec'd children run: the "
            "program's own main,\ntold by its argv that it is a child (C's "
            "`if __name__ == \"__main__\"`).\n\n"
            "Predict, then check: --experiment exitcodes --quiz prints four "
            "children's endings with\n? for their exit codes and runs "
            "nothing; --answer (same flags) predicts them by the\nkernel's "
            "rule, runs them and shows both; --seed S draws a new problem.\n\n"
            "CSV (--csv): exitcodes: action,exitcode (one row per way of "
            "ending)\n"
            "  start-cost: method,parent_mib,rep,seconds_per_start (one row "
            "per repetition;\n  each the mean of --iterations starts, "
            "methods interleaved)",
        .exit_notes = "  1: a claim the lab checks did not hold (an exit code, "
                      "a lock that should time out).\n  3: the watchdog "
                      "stopped the run; no-guard always ends so, by its "
                      "--depth bound.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    if (csv && experiment != EXP_EXITCODES && experiment != EXP_START_COST)
        flags_usage_error(&program, "--csv: only with --experiment exitcodes "
                                    "or start-cost");
    quiz_start(&quiz, &program);
    bool quizzing = quiz.quiz || quiz.answer;
    if (quizzing && experiment != EXP_EXITCODES)
        flags_usage_error(&program, "--%s: only with --experiment exitcodes "
                          "(predict the exit codes)",
                          quiz.quiz ? "quiz" : "answer");
    if (quizzing && csv)
        flags_usage_error(&program, "--csv: not with --quiz or --answer");
    if (quiz.seeded && !quizzing)
        flags_usage_error(&program, "--seed: only with --quiz or --answer "
                                    "(it draws a new problem)");
    if (flags_given(&program, "parent-mib") && experiment != EXP_START_COST)
        flags_usage_error(&program, "--parent-mib: only with --experiment "
                                    "start-cost");
    if (flags_given(&program, "method") && experiment != EXP_START_COST)
        flags_usage_error(&program, "--method: only with --experiment "
                                    "start-cost");
    /* A parent bigger than the free memory would be killed by the kernel
     * while touching it: refuse it now, with the figure. */
    uint64_t available = available_mib();
    for (int i = 0; i < parent_mib.count; i++)
        if (available > 0 && parent_mib.values[i] > available * 9 / 10)
            flags_usage_error(&program, "--parent-mib: %llu MiB is more than "
                              "this machine can spare (%llu MiB available)",
                              (unsigned long long)parent_mib.values[i],
                              (unsigned long long)available);
    if (flags_given(&program, "depth") && experiment != EXP_NO_GUARD)
        flags_usage_error(&program, "--depth: only with --experiment no-guard");

    static char self[PATH_MAX];
    ssize_t length = CHECK(readlink("/proc/self/exe", self, sizeof self - 1));
    self[length] = '\0';
    settings = (struct settings){
        .pause_scale = pause_scale, .csv = csv, .repeat = repeat,
        .warmup = warmup, .iterations = iterations, .parent_mib = parent_mib,
        .depth_limit = (int)depth, .self = self, .argv = argv,
        .method = method - 1};

    watchdog_start(program.name, timeout);
    static int running;
    running = experiment;
    watchdog_set_diagnosis(diagnose, &running);
    int status = quizzing ? run_exitcodes_quiz(&quiz)
                          : experiments[experiment]();
    watchdog_stop();
    return status;
}
