/* test_process.c: lab 01 (process: E2, E18) and the parts of common/proc
 * it added (daemons, the exit hook, active_children, adoption, authkey).
 *
 * The integration tests run the real binary with short sleeps
 * (--pause-scale 0.01) and check its claims from its --csv and its exit
 * status: every exit code from a real child; join(timeout) expiring and
 * not; daemon children ended at exit and the others waited for; a zombie
 * seen, then reaped by looking; a lock held by a terminated child detected
 * and a robust one recovered; no-guard bounded (exit 3); fork-with-threads
 * detected; the start-cost CSV contract; bad input (exit 2); Ctrl+C.
 * Every run must leave no process behind: the test process is the
 * subreaper, so an orphan would be adopted by it and counted.  No time is
 * asserted (the targets are the bench's).
 */
#define _GNU_SOURCE
#include "harness.h"

#include "checked.h"
#include "proc.h"
#include "timing.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef SOURCE_DIR
#define SOURCE_DIR "."
#endif

/* Run process; check it finished, exited `status`, and left nothing. */
static struct program_result run_process(double timeout, int status,
                                         const char *const argv[])
{
    become_subreaper();
    struct program_result r = program_run(timeout * time_scale(), argv);
    int orphans = orphans_adopted();
    char command[256];
    describe(argv, command, sizeof command);
    ck_assert_msg(!r.timed_out, "%s: still running after %.0f s", command,
                  timeout * time_scale());
    ck_assert_msg(r.status == status, "%s: exit %d, expected %d; stdout:\n%s\n"
                  "stderr:\n%s", command, r.status, status, r.out, r.err);
    ck_assert_msg(orphans == 0, "%s: left %d process(es) behind", command,
                  orphans);
    return r;
}

static void expect_text(const char *out, const char *text)
{
    ck_assert_msg(strstr(out, text) != NULL, "output lacks \"%s\":\n%s", text,
                  out);
}

static int occurrences(const char *text, const char *word)
{
    int count = 0;
    for (const char *at = text; (at = strstr(at, word)) != NULL; at++)
        count++;
    return count;
}

/* ---- E2: the API on real children ------------------------------------------ */

START_TEST(exit_codes_come_from_real_children)
{
    const char *argv[] = {"process", "--experiment", "exitcodes", "--csv",
                          NULL};
    struct program_result r = run_process(30, 0, argv);
    ck_assert_str_eq(r.out, "action,exitcode\nreturn,0\nexit3,3\nerror,1\n"
                            "sigterm,-15\nsigkill,-9\nsegv,-11\nabort,-6\n");
    program_result_free(&r);
}
END_TEST

/* The documents' order: END before any worker ends.  Sleeps of 0.4 to
 * 0.8 s (x 0.2), so only a parent kept off the CPU that long could miss. */
START_TEST(workers_end_after_the_parent_prints_end)
{
    const char *argv[] = {"process", "--experiment", "workers",
                          "--pause-scale", "0.2", NULL};
    struct program_result r = run_process(30, 0, argv);
    ck_assert_int_eq(occurrences(r.out, "\nchild   p.name:Process-"), 3);
    for (int w = 1; w <= 3; w++) {
        char line[32];
        snprintf(line, sizeof line, "\nend worker_%d\n", w);
        ck_assert_int_eq(occurrences(r.out, line), 1);
        ck_assert(strstr(r.out, "END!!!") < strstr(r.out, line));
    }
    /* The ends come in the order of the sleeps: 2, 3, 4 s. */
    ck_assert(strstr(r.out, "end worker_1") < strstr(r.out, "end worker_2"));
    ck_assert(strstr(r.out, "end worker_2") < strstr(r.out, "end worker_3"));
    expect_text(r.out, "before the first worker ended");
    program_result_free(&r);
}
END_TEST

/* "What Python would print": the same seven endings in CPython
 * (labs/01-process/process.py --exitcodes) give the same table. */
START_TEST(exit_codes_match_cpython)
{
    const char *argv[] = {"process", "--experiment", "exitcodes", "--csv",
                          NULL};
    struct program_result r = run_process(30, 0, argv);
    FILE *python = popen("python3 " SOURCE_DIR "/labs/01-process/process.py "
                         "--exitcodes 2>&1", "r");
    ck_assert_ptr_nonnull(python);
    static char cpython[4096];
    size_t n = fread(cpython, 1, sizeof cpython - 1, python);
    cpython[n] = '\0';
    int status = pclose(python);
    ck_assert_msg(status == 0, "python3 process.py --exitcodes: status %d "
                  "(python3 missing? make deps installs it):\n%s", status,
                  cpython);
    ck_assert_str_eq(r.out, cpython);
    program_result_free(&r);
}
END_TEST

/* Predict, then check: the quiz shows the problem and runs nothing (no
 * child, no exit code on the page); the same seed is the same problem; the
 * answer's prediction matches every real child. */
START_TEST(exit_code_quiz_hides_then_answer_checks)
{
    const char *quiz[] = {"process", "--experiment", "exitcodes", "--quiz",
                          "--seed", "7", NULL};
    struct program_result q = run_process(30, 0, quiz);
    ck_assert_int_eq(occurrences(q.out, "p.exitcode ?\n"), 4);
    ck_assert_ptr_null(strstr(q.out, "predicted"));
    expect_text(q.out, "--answer --seed 7");
    struct program_result again = run_process(30, 0, quiz);
    ck_assert_str_eq(q.out, again.out);
    const char *answer[] = {"process", "--experiment", "exitcodes", "--answer",
                            "--seed", "7", NULL};
    struct program_result a = run_process(30, 0, answer);
    /* Four exit codes and a join(timeout), each checked by a real child. */
    ck_assert_int_eq(occurrences(a.out, "  right\n"), 5);
    ck_assert_int_eq(occurrences(q.out, "does join expire? p.exitcode after it ?\n"), 1);
    /* The answer is about the quiz's children, in the quiz's order. */
    for (char label = 'A'; label <= 'D'; label++) {
        char line[8];
        snprintf(line, sizeof line, "  %c  ", label);
        const char *in_quiz = strstr(q.out, line), *in_answer = strstr(a.out, line);
        ck_assert(in_quiz != NULL && in_answer != NULL);
        ck_assert_int_eq(strncmp(in_quiz, in_answer, 25), 0);
    }
    const char *other[] = {"process", "--experiment", "exitcodes", "--answer",
                           NULL};
    struct program_result d = run_process(30, 0, other);
    expect_text(d.out, "exit(256)            p.exitcode    0  predicted    0");
    expect_text(d.out, "E  sleeps 200 ms, then p.join(timeout=0.04): expired, "
                       "p.exitcode None; predicted expired, None");
    expect_text(d.out, "exit(-1)             p.exitcode  255");
    program_result_free(&q);
    program_result_free(&again);
    program_result_free(&a);
    program_result_free(&d);
}
END_TEST

START_TEST(join_timeout_expires_and_then_joins)
{
    const char *argv[] = {"process", "--experiment", "attributes",
                          "--pause-scale", "0.01", NULL};
    struct program_result r = run_process(30, 0, argv);
    expect_text(r.out, "p.pid None, p.is_alive() False, p.exitcode None");
    expect_text(r.out, "p.is_alive() True, p.exitcode None (the lab's");
    expect_text(r.out, "returned False after");
    expect_text(r.out, "the timeout expired");
    expect_text(r.out, "returned True after");
    expect_text(r.out, "p.exitcode 0, p.is_alive() False");
    /* repr(p), as CPython prints it, through the three states. */
    expect_text(r.out, "print(p): <Process name='Process-1' parent=");
    expect_text(r.out, " initial>\n");
    expect_text(r.out, " started>\n");
    expect_text(r.out, " stopped exitcode=0>\n");
    /* The child's own view: its parent is the lab. */
    char lab_pid[32];
    const char *mark = strstr(r.out, "(the lab's own pid is ");
    ck_assert_ptr_nonnull(mark);
    ck_assert_int_eq(sscanf(mark, "(the lab's own pid is %31[0-9]", lab_pid), 1);
    char parent[64];
    snprintf(parent, sizeof parent, "os.getppid() %s", lab_pid);
    expect_text(r.out, parent);
    program_result_free(&r);
}
END_TEST

START_TEST(terminate_and_kill_give_minus_the_signal)
{
    const char *argv[] = {"process", "--experiment", "terminate",
                          "--pause-scale", "0.01", NULL};
    struct program_result r = run_process(30, 0, argv);
    expect_text(r.out, "p.terminate() (SIGTERM) -> p.exitcode -15");
    expect_text(r.out, "p.kill() (SIGKILL) -> p.exitcode -9");
    expect_text(r.out, "ignores SIGTERM: p.terminate(); ");
    expect_text(r.out, "-> still running, p.is_alive() True");
    expect_text(r.out, " stopped exitcode=-SIGTERM>\n");
    ck_assert_int_eq(occurrences(r.out, " stopped exitcode=-SIGKILL>\n"), 2);
    program_result_free(&r);
}
END_TEST

START_TEST(zombie_is_seen_then_reaped_by_active_children)
{
    const char *argv[] = {"process", "--experiment", "active-children", NULL};
    struct program_result r = run_process(30, 0, argv);
    expect_text(r.out, "/stat: state Z (zombie");
    expect_text(r.out, "is_alive() False; still state Z");
    expect_text(r.out, "active_children() -> [<Process name='Process-");
    expect_text(r.out, ".exitcode 0, /proc/");
    expect_text(r.out, " gone");
    program_result_free(&r);
}
END_TEST

START_TEST(daemons_end_at_exit_others_are_waited_for)
{
    const char *argv[] = {"process", "--experiment", "daemon",
                          "--pause-scale", "0.01", NULL};
    struct program_result r = run_process(30, 0, argv);
    expect_text(r.out, "exited with status 1");
    expect_text(r.err, PROC_DAEMON_REFUSAL);
    expect_text(r.out, "terminated daemon D (pid ");
    expect_text(r.out, "exitcode -15");
    expect_text(r.out, "waited for N (pid ");
    expect_text(r.out, "after it: the exit waited for N");
    expect_text(r.out, "gone, nothing left");
    program_result_free(&r);
}
END_TEST

START_TEST(api_tour_runs_every_topic)
{
    const char *argv[] = {"process", "--pause-scale", "0.01", NULL};
    struct program_result r = run_process(30, 0, argv);
    const char *topics[] = {"clock: method 1", "clock: method 2", "END!!!",
                            "attributes:", "terminate:", "active-children:",
                            "cpu-count:", "daemon:", "authkey:"};
    for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
        expect_text(r.out, topics[i]);
    /* The clock: 5 lines from method 1, 2 x 5 from method 2. */
    ck_assert_int_eq(occurrences(r.out, "The time is "), 5);
    ck_assert_int_eq(occurrences(r.out, "=="), 10);
    expect_text(r.out, "<ClockProcess name='ClockProcess-");
    /* The three workers, each started and ended once, joined after. */
    for (int w = 1; w <= 3; w++) {
        char line[32];
        snprintf(line, sizeof line, "\nend worker_%d\n", w);
        ck_assert_int_eq(occurrences(r.out, line), 1);
    }
    expect_text(r.out, "after the last worker ended");
    expect_text(r.out, "(the same as the parent's)");
    expect_text(r.out, "pinned to CPU");
    expect_text(r.out, "os.process_cpu_count() 1");
    program_result_free(&r);
}
END_TEST

/* ---- What terminate leaves behind ------------------------------------------ */

START_TEST(terminated_lock_holder_is_detected_and_robust_recovers)
{
    const char *argv[] = {"process", "--experiment", "leftovers",
                          "--pause-scale", "0.01", NULL};
    struct program_result r = run_process(30, 0, argv);
    expect_text(r.out, "took the plain lock and was terminated holding it: "
                       "exitcode -15");
    expect_text(r.out, "-> ETIMEDOUT after");
    expect_text(r.out, "pthread_mutex_lock(robust) -> EOWNERDEAD");
    expect_text(r.out, "the next trylock -> 0 (taken): recovered");
    ck_assert_int_eq(occurrences(r.out, "(the lab, a subreaper;"), 2);
    expect_text(r.out, "(exitcodes -15, -15)");
    expect_text(r.out, "gone, nothing left");
    program_result_free(&r);
}
END_TEST

/* ---- E18 ----------------------------------------------------------------- */

START_TEST(no_guard_is_bounded_and_leaves_nothing)
{
    const char *argv[] = {"process", "--experiment", "no-guard", "--depth",
                          "3", NULL};
    struct program_result r = run_process(30, 3, argv);
    for (int depth = 0; depth <= 3; depth++) {
        char line[64];
        snprintf(line, sizeof line, "  depth %d: pid ", depth);
        ck_assert_int_eq(occurrences(r.out, line), 1);
    }
    ck_assert_int_eq(occurrences(r.out, "  depth 4"), 0);
    expect_text(r.out, "the bound (--depth 3");
    expect_text(r.out, "RuntimeError");
    program_result_free(&r);
}
END_TEST

/* The other bound: the watchdog ends a chain that is still growing (50
 * levels cannot start in 50 ms), and still nothing is left: every level
 * dies with its parent, and the top reaps them. */
START_TEST(no_guard_stopped_by_the_watchdog_leaves_nothing)
{
    const char *argv[] = {"process", "--experiment", "no-guard", "--depth",
                          "50", "--timeout", "0.05", NULL};
    struct program_result r = run_process(30, 3, argv);
    expect_text(r.out, "  depth 0: pid ");
    if (strstr(r.err, "watchdog") != NULL)
        expect_text(r.err, "the run was in --experiment no-guard, at depth");
    program_result_free(&r);
}
END_TEST

/* What the lab says CPython does without the guard, checked on CPython:
 * the spawned child raises RuntimeError and ends with exitcode 1. */
START_TEST(no_guard_claim_about_cpython_holds)
{
    FILE *python = popen("python3 " SOURCE_DIR "/labs/01-process/process.py "
                         "--no-guard 2>&1", "r");
    ck_assert_ptr_nonnull(python);
    static char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, python);
    out[n] = '\0';
    int status = pclose(python);
    ck_assert_msg(status == 0, "process.py --no-guard: status %d:\n%s", status,
                  out);
    expect_text(out, "the spawned child's exitcode: 1\n");
    expect_text(out, "RuntimeError: An attempt has been made to start a new "
                     "process before the current process has finished its "
                     "bootstrapping phase");
}
END_TEST

START_TEST(fork_with_threads_is_detected_and_forkserver_works)
{
    const char *argv[] = {"process", "--experiment", "fork-with-threads",
                          "--pause-scale", "0.01", NULL};
    struct program_result r = run_process(30, 0, argv);
    expect_text(r.out, "exitcode 1, timed out: never got it");
    expect_text(r.out, "the same job from the forkserver -> exitcode 0, took "
                       "the lock");
    program_result_free(&r);
}
END_TEST

/* The CSV contract: the header, then one row per method x size x
 * repetition, in turn within each repetition, seconds positive. */
START_TEST(start_cost_csv_contract)
{
    const char *argv[] = {"process", "--experiment", "start-cost", "--csv",
                          "--parent-mib", "0,8", "--repeat", "2",
                          "--iterations", "2", "--warmup", "0", NULL};
    struct program_result r = run_process(60, 0, argv);
    static const char *const methods[] = {"fork", "fork-exec", "vfork-exec",
                                          "posix-spawn", "clone-vm",
                                          "forkserver", "thread", "proc"};
    enum { METHODS = 8 };
    ck_assert_int_eq(count_lines(r.out), 1 + METHODS * 2 * 2);
    char *text = strdup(r.out), *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    ck_assert_str_eq(line, "method,parent_mib,rep,seconds_per_start");
    int seen[2][2][METHODS] = {{{0}}};
    int row = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char method[32];
        int mib, rep;
        double seconds;
        ck_assert_msg(sscanf(line, "%31[^,],%d,%d,%lf", method, &mib, &rep,
                             &seconds) == 4, "bad row: %s", line);
        int m = 0;
        while (m < METHODS && strcmp(methods[m], method) != 0)
            m++;
        ck_assert_msg(m < METHODS, "unknown method: %s", line);
        ck_assert_msg(mib == 0 || mib == 8, "bad size: %s", line);
        ck_assert_msg(rep == 1 || rep == 2, "bad rep: %s", line);
        ck_assert_msg(seconds > 0 && seconds < 10, "bad seconds: %s", line);
        /* Rows come size by size, repetition by repetition. */
        ck_assert_int_eq(mib, row / (METHODS * 2) == 0 ? 0 : 8);
        ck_assert_int_eq(rep, row / METHODS % 2 + 1);
        seen[mib == 8][rep - 1][m]++;
        row++;
    }
    for (int s = 0; s < 2; s++)
        for (int p = 0; p < 2; p++)
            for (int m = 0; m < METHODS; m++)
                ck_assert_int_eq(seen[s][p][m], 1);
    free(text);
    program_result_free(&r);
}
END_TEST

START_TEST(start_cost_narrated_table_and_findings)
{
    const char *argv[] = {"process", "--experiment", "start-cost",
                          "--parent-mib", "0,8", "--repeat", "1",
                          "--iterations", "2", NULL};
    struct program_result r = run_process(60, 0, argv);
    expect_text(r.out, "  fork ");
    expect_text(r.out, "  clone-vm ");
    expect_text(r.out, "is ");
    expect_text(r.out, "x a raw fork + waitpid");
    expect_text(r.out, "from 0 to 8 MiB: fork ");
    program_result_free(&r);
}
END_TEST

/* ---- The lab contract: bad input, Ctrl+C ------------------------------------ */

static const struct bad_line bad_lines[] = {
    {{"--experiment", "spawn", NULL}, "--experiment"},
    {{"--pause-scale", "0", NULL}, "--pause-scale"},
    {{"--experiment", "start-cost", "--parent-mib", "0,x", NULL},
     "--parent-mib"},
    {{"--experiment", "start-cost", "--parent-mib", "0,,8", NULL},
     "--parent-mib"},
    {{"--experiment", "start-cost", "--parent-mib", "99999999", NULL},
     "--parent-mib"},
    {{"--parent-mib", "0", NULL}, "--parent-mib"},
    {{"--experiment", "clock", "--csv", NULL}, "--csv"},
    {{"--depth", "3", NULL}, "--depth"},
    {{"--experiment", "no-guard", "--depth", "0", NULL}, "--depth"},
    {{"--method", "fork", NULL}, "--method"},
    {{"--experiment", "start-cost", "--method", "spawn", NULL}, "--method"},
    {{"--quiz", NULL}, "--quiz"},
    {{"--experiment", "exitcodes", "--quiz", "--answer", NULL}, "--quiz"},
    {{"--experiment", "exitcodes", "--seed", "3", NULL}, "--seed"},
    {{"--experiment", "exitcodes", "--answer", "--csv", NULL}, "--csv"},
};

START_TEST(bad_command_line_is_refused_with_exit_2)
{
    expect_usage_error("process", &bad_lines[_i]);
}
END_TEST

START_TEST(help_explains_experiments_columns_and_exit_codes)
{
    const char *argv[] = {"process", "--help", NULL};
    struct program_result r = run_process(30, 0, argv);
    const char *words[] = {"E2", "E18", "--experiment", "exitcodes",
                           "leftovers", "start-cost", "no-guard",
                           "fork-with-threads", "--parent-mib",
                           "--pause-scale", "action,exitcode",
                           "method,parent_mib,rep,seconds_per_start",
                           "--child exit", "3: the watchdog"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        expect_text(r.out, words[i]);
    program_result_free(&r);
}
END_TEST

/* Ctrl+C goes to the whole foreground group: the lab kills and reaps its
 * children, exits 130, and nothing is left. */
START_TEST(ctrl_c_leaves_nothing_behind)
{
    const char *argv[] = {"process", "--experiment",
                          _i == 0 ? "clock" : "workers", NULL};
    become_subreaper();
    struct running_program program = program_start(argv);
    pid_t children[64];
    int expected = _i == 0 ? 1 : 3; /* the clock, or the three workers */
    double deadline = clock_seconds() + 20 * time_scale();
    bool started;
    while (!(started = children_of(program.pid, children, 64) >= expected) &&
           clock_seconds() < deadline)
        clock_sleep(0.001);
    if (started)
        clock_sleep(0.1);
    ck_assert_int_eq(kill(-program.pid, started ? SIGINT : SIGKILL), 0);
    struct program_result r = program_finish(&program, 10 * time_scale());
    int orphans = orphans_adopted();
    ck_assert_msg(started, "the children never started: %s", r.err);
    ck_assert_msg(r.status == 130, "exit %d, expected 130: %s", r.status, r.err);
    expect_text(r.err, "interrupted by INT");
    ck_assert_msg(orphans == 0, "left %d process(es) behind", orphans);
    program_result_free(&r);
}
END_TEST

/* ---- common/proc: the exit hook, daemons, active_children, adoption ------- */

struct hook_record {
    _Atomic uint64_t worker_done_ns, exited_ns;
    _Atomic int seen, daemon_code, worker_code;
    pid_t daemon, worker;
};
static struct hook_record *record;

static int forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static int short_work(void *arg)
{
    (void)arg;
    clock_sleep(0.05);
    atomic_store(&record->worker_done_ns, clock_nanoseconds());
    return 7;
}

static void note_exit(pid_t pid, bool daemon, int exitcode)
{
    atomic_fetch_add(&record->seen, 1);
    if (pid == record->daemon && daemon)
        atomic_store(&record->daemon_code, exitcode);
    if (pid == record->worker && !daemon)
        atomic_store(&record->worker_code, exitcode);
}

/* A sub-child playing a program: starts one daemon and one other child and
 * calls exit(); the atexit hook must end the first and wait for the other. */
static int program_that_exits(void *arg)
{
    (void)arg;
    default_signals();
    proc_set_exit_observer(note_exit);
    struct proc daemon, worker;
    proc_start_daemon(&daemon, "daemon", forever, NULL);
    proc_start(&worker, "worker", short_work, NULL);
    record->daemon = daemon.pid;
    record->worker = worker.pid;
    exit(0);
}

START_TEST(exit_hook_terminates_daemons_and_joins_the_others)
{
    record = CHECK_PTR(mmap(NULL, sizeof *record, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                       MAP_FAILED);
    become_subreaper();
    struct sub_result *r = run_sub(program_that_exits, NULL, 10);
    uint64_t ended = clock_nanoseconds();
    ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
    ck_assert_int_eq(atomic_load(&record->seen), 2);
    ck_assert_int_eq(atomic_load(&record->daemon_code), -SIGTERM);
    ck_assert_int_eq(atomic_load(&record->worker_code), 7);
    uint64_t done = atomic_load(&record->worker_done_ns);
    ck_assert(done != 0 && done <= ended);
    ck_assert(!pid_exists(record->daemon) && !pid_exists(record->worker));
    ck_assert_int_eq(orphans_adopted(), 0);
    munmap(record, sizeof *record);
}
END_TEST

static int daemon_tries_to_start(void *arg)
{
    (void)arg;
    struct proc child;
    proc_start(&child, "never", forever, NULL);
    return 0; /* not reached: proc_start refuses in a daemon */
}

static int start_a_daemon_that_starts(void *arg)
{
    (void)arg;
    default_signals();
    struct proc daemon;
    proc_start_daemon(&daemon, "daemon", daemon_tries_to_start, NULL);
    proc_join(&daemon, -1);
    return daemon.exitcode == 1 ? 0 : 10 + daemon.exitcode;
}

START_TEST(a_daemon_may_not_start_children)
{
    become_subreaper();
    struct sub_result *r = run_sub(start_a_daemon_that_starts, NULL, 10);
    ck_assert_msg(r->status == 0, "status %d: %s", r->status, r->err);
    ck_assert_msg(strstr(r->err, "daemon: proc_start: " PROC_DAEMON_REFUSAL) !=
                      NULL, "%s", r->err);
    ck_assert_int_eq(orphans_adopted(), 0);
}
END_TEST

static int exit_now(void *arg)
{
    (void)arg;
    return 5;
}

START_TEST(active_children_reaps_and_records_the_exit_code)
{
    default_signals();
    struct proc ended, running;
    proc_start(&running, "running", forever, NULL);
    proc_start(&ended, "ended", exit_now, NULL);
    while (proc_is_alive(&ended)) /* looks without reaping */
        clock_sleep(0.001);
    ck_assert(!ended.joined);
    struct proc *list[4];
    ck_assert_int_eq(proc_active_children(list, 4), 1);
    ck_assert_ptr_eq(list[0], &running);
    ck_assert(ended.joined);
    ck_assert_int_eq(ended.exitcode, 5);
    ck_assert(proc_join(&ended, 0)); /* already reaped: no ECHILD */
    ck_assert_int_eq(proc_active_count(), 1);
    proc_signal(&running, SIGKILL);
    ck_assert(proc_join(&running, 5 * time_scale()));
    ck_assert_int_eq(proc_active_children(list, 4), 0);
}
END_TEST

START_TEST(authkey_is_inherited_and_stable)
{
    default_signals();
    const unsigned char *key = proc_authkey();
    unsigned char copy[PROC_AUTHKEY_BYTES];
    memcpy(copy, key, sizeof copy);
    ck_assert(memcmp(proc_authkey(), copy, sizeof copy) == 0);
    unsigned char zero[PROC_AUTHKEY_BYTES] = {0};
    ck_assert(memcmp(copy, zero, sizeof copy) != 0);
}
END_TEST

Suite *process_suite(void)
{
    Suite *suite = suite_create("process");
    TCase *api = tcase_create("process_api");
    tcase_set_timeout(api, 60);
    tcase_add_checked_fixture(api, default_signals, NULL);
    tcase_add_test(api, exit_codes_come_from_real_children);
    tcase_add_test(api, exit_codes_match_cpython);
    tcase_add_test(api, exit_code_quiz_hides_then_answer_checks);
    tcase_add_test(api, workers_end_after_the_parent_prints_end);
    tcase_add_test(api, join_timeout_expires_and_then_joins);
    tcase_add_test(api, terminate_and_kill_give_minus_the_signal);
    tcase_add_test(api, zombie_is_seen_then_reaped_by_active_children);
    tcase_add_test(api, daemons_end_at_exit_others_are_waited_for);
    tcase_add_test(api, api_tour_runs_every_topic);
    tcase_add_test(api, terminated_lock_holder_is_detected_and_robust_recovers);
    suite_add_tcase(suite, api);

    TCase *start = tcase_create("process_start");
    tcase_set_timeout(start, 60);
    tcase_add_checked_fixture(start, default_signals, NULL);
    tcase_add_test(start, no_guard_is_bounded_and_leaves_nothing);
    tcase_add_test(start, no_guard_stopped_by_the_watchdog_leaves_nothing);
    tcase_add_test(start, no_guard_claim_about_cpython_holds);
    tcase_add_test(start, fork_with_threads_is_detected_and_forkserver_works);
    tcase_add_test(start, start_cost_csv_contract);
    tcase_add_test(start, start_cost_narrated_table_and_findings);
    suite_add_tcase(suite, start);

    TCase *contract = tcase_create("process_contract");
    tcase_set_timeout(contract, 30);
    tcase_add_checked_fixture(contract, default_signals, NULL);
    tcase_add_loop_test(contract, bad_command_line_is_refused_with_exit_2, 0,
                        sizeof bad_lines / sizeof bad_lines[0]);
    tcase_add_test(contract, help_explains_experiments_columns_and_exit_codes);
    tcase_add_loop_test(contract, ctrl_c_leaves_nothing_behind, 0, 2);
    suite_add_tcase(suite, contract);

    TCase *runtime = tcase_create("process_runtime");
    tcase_set_timeout(runtime, 30);
    tcase_add_checked_fixture(runtime, default_signals, NULL);
    tcase_add_test(runtime, exit_hook_terminates_daemons_and_joins_the_others);
    tcase_add_test(runtime, a_daemon_may_not_start_children);
    tcase_add_test(runtime, active_children_reaps_and_records_the_exit_code);
    tcase_add_test(runtime, authkey_is_inherited_and_stable);
    suite_add_tcase(suite, runtime);
    return suite;
}
