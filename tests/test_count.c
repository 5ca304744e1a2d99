/* test_count.c: integration tests of build/bin/count (lab 02, E1).
 *
 * They run the real binary with small sizes and check its claims: the sums,
 * the CSV contract, the narration's pids and thread ids, the usage errors,
 * the watchdog, Ctrl+C, and that a wrong result is caught (exit 1).
 */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER "mode,gil,workers,iterations,rep,seconds,total"

static struct program_result run_count(const char *const argv[])
{
    return program_run(30 * time_scale(), argv);
}

/* Parse every CSV row; count rows per configuration (serial, thread,
 * thread+gil, process) and check each one's fields. */
static void check_csv(const char *out, int workers, unsigned long long iterations,
                      int repeat, int expected[4])
{
    ck_assert_msg(strncmp(out, HEADER "\n", strlen(HEADER) + 1) == 0,
                  "CSV must start with the header, got: %.80s", out);
    int seen[4] = {0};
    char *copy = strdup(out + strlen(HEADER) + 1);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char mode[16];
        int gil, row_workers, rep, consumed = 0;
        unsigned long long row_iterations, total;
        double seconds;
        int fields = sscanf(line, "%15[a-z],%d,%d,%llu,%d,%lf,%llu%n", mode, &gil,
                            &row_workers, &row_iterations, &rep, &seconds,
                            &total, &consumed);
        ck_assert_msg(fields == 7 && line[consumed] == '\0',
                      "not a CSV row of 7 fields: '%s'", line);
        ck_assert_int_eq(row_workers, workers);
        ck_assert_uint_eq(row_iterations, iterations);
        ck_assert_msg(rep >= 1 && rep <= repeat, "rep %d out of 1..%d", rep,
                      repeat);
        ck_assert_msg(seconds > 0 && seconds < 60, "seconds %f", seconds);
        ck_assert_msg(total == (unsigned long long)workers * iterations,
                      "total %llu, expected %d x %llu", total, workers,
                      iterations);
        int config;
        if (strcmp(mode, "serial") == 0 && gil == 0)
            config = 0;
        else if (strcmp(mode, "thread") == 0 && gil == 0)
            config = 1;
        else if (strcmp(mode, "thread") == 0 && gil == 1)
            config = 2;
        else if (strcmp(mode, "process") == 0 && gil == 0)
            config = 3;
        else
            ck_abort_msg("unexpected mode/gil: '%s'", line);
        seen[config]++;
    }
    free(copy);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(seen[i] == expected[i], "configuration %d: %d rows, "
                      "expected %d", i, seen[i], expected[i]);
}

START_TEST(csv_mode_all_has_every_configuration_and_correct_totals)
{
    const char *argv[] = {"count", "--csv", "--workers", "3", "--iterations",
                          "1000000", "--repeat", "2", "--warmup", "1", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    check_csv(r.out, 3, 1000000, 2, (int[]){2, 2, 2, 2});
    ck_assert_str_eq(r.err, "");
    program_result_free(&r);
}
END_TEST

/* One test per single mode: exactly that configuration's rows. */
static const struct {
    const char *mode;
    bool gil;
    int expected[4];
} single_modes[] = {
    {"serial", false, {3, 0, 0, 0}},
    {"thread", false, {0, 3, 0, 0}},
    {"thread", true, {0, 0, 3, 0}},
    {"process", false, {0, 0, 0, 3}},
};

START_TEST(csv_single_mode_runs_only_that_mode)
{
    const char *argv[12] = {"count", "--csv", "--mode", single_modes[_i].mode,
                            "--workers", "4", "--iterations", "2M",
                            "--repeat", "3"};
    if (single_modes[_i].gil)
        argv[10] = "--gil";
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    check_csv(r.out, 4, 2000000, 3, (int[4]){
        single_modes[_i].expected[0], single_modes[_i].expected[1],
        single_modes[_i].expected[2], single_modes[_i].expected[3]});
    program_result_free(&r);
}
END_TEST

/* The narration must teach the right thing: in process mode every worker
 * has its own pid, different from the parent's; in thread mode they share
 * the parent's pid and have distinct thread ids. */
static void worker_ids(const char *out, int workers, int *pids, int *tids)
{
    int found = 0;
    for (const char *line = strstr(out, "  worker-"); line != NULL && found < workers;
         line = strstr(line + 1, "  worker-")) {
        int index;
        ck_assert_int_eq(sscanf(line, "  worker-%d pid %d tid %d", &index,
                                &pids[found], &tids[found]), 3);
        found++;
    }
    ck_assert_int_eq(found, workers);
}

static int main_pid(const char *out)
{
    const char *at = strstr(out, "main process pid ");
    ck_assert_ptr_nonnull(at);
    return atoi(at + strlen("main process pid "));
}

START_TEST(narration_shows_separate_processes)
{
    const char *argv[] = {"count", "--mode", "process", "--workers", "3",
                          "--iterations", "1M", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    int pids[3], tids[3], parent = main_pid(r.out);
    worker_ids(r.out, 3, pids, tids);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_ne(pids[i], parent);
        ck_assert_int_eq(tids[i], pids[i]); /* one thread per process */
        for (int j = 0; j < i; j++)
            ck_assert_int_ne(pids[i], pids[j]);
    }
    ck_assert_ptr_nonnull(strstr(r.out, "sum 1000000 "));
    ck_assert_ptr_nonnull(strstr(r.out, "Check: every sum is 1000000. OK"));
    program_result_free(&r);
}
END_TEST

START_TEST(narration_shows_threads_of_one_process)
{
    const char *argv[] = {"count", "--mode", "thread", "--workers", "3",
                          "--iterations", "1M", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    int pids[3], tids[3], parent = main_pid(r.out);
    worker_ids(r.out, 3, pids, tids);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pids[i], parent);
        ck_assert_int_ne(tids[i], parent);
        for (int j = 0; j < i; j++)
            ck_assert_int_ne(tids[i], tids[j]);
    }
    program_result_free(&r);
}
END_TEST

START_TEST(gil_run_reports_its_counters)
{
    const char *argv[] = {"count", "--mode", "thread", "--gil", "--workers",
                          "2", "--iterations", "200M", "--switch-interval",
                          "0.5", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    const char *line = strstr(r.out, "GIL: ");
    ck_assert_ptr_nonnull(line);
    unsigned long long acquisitions, forced;
    ck_assert_int_eq(sscanf(line, "GIL: %llu acquisitions, %llu forced",
                            &acquisitions, &forced), 2);
    /* Two threads competing for 200M iterations each (about 60 ms) with a
     * 0.5 ms interval must have been switched by force at least once.  The
     * work must outlast the second thread's start by far: at 20M (6 ms), a
     * loaded machine started it once after the first had finished, and
     * then nobody competed. */
    ck_assert_uint_ge(acquisitions, 2);
    ck_assert_uint_ge(forced, 1);
    program_result_free(&r);
}
END_TEST

START_TEST(mode_all_prints_the_summary_table)
{
    const char *argv[] = {"count", "--workers", "2", "--iterations", "1M", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    const char *summary = strstr(r.out, "Summary:");
    ck_assert_ptr_nonnull(summary);
    const char *labels[] = {"serial", "thread", "thread+gil", "process"};
    for (int i = 0; i < 4; i++) {
        char pattern[32];
        snprintf(pattern, sizeof pattern, "\n  %-11s ", labels[i]);
        ck_assert_msg(strstr(summary, pattern) != NULL, "no %s row",
                      labels[i]);
    }
    ck_assert_ptr_nonnull(strstr(summary, "1.00x")); /* serial vs itself */
    program_result_free(&r);
}
END_TEST

/* Under `taskset -c 0` the reason for "no gain" is the single CPU the run
 * may use, not the cost of starting threads (which the old explanation
 * blamed, reading the machine's CPU count instead of the run's). */
START_TEST(one_allowed_cpu_is_named_as_the_reason)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    const char *argv[] = {"count", "--workers", "3", "--iterations", "2M",
                          "--repeat", "3", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.out, "this run may use 1 CPU (the machine has") != NULL,
                  "the first line must say the run's CPUs:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "at most 1x is possible") != NULL, "%s", r.out);
    /* The plain threads' and the processes' reasons (the GIL threads may
     * rightly blame their start-up: they are slower than serial here). */
    const char *shows = strstr(r.out, "What this shows");
    ck_assert_ptr_nonnull(shows);
    const char *labels[] = {"\n  thread      ", "\n  process     "};
    for (int i = 0; i < 2; i++) {
        const char *line = strstr(shows, labels[i]);
        ck_assert_msg(line != NULL, "no line %s:\n%s", labels[i], r.out);
        /* Each reason takes two lines. */
        char reason[512];
        snprintf(reason, sizeof reason, "%.300s", line + 1);
        char *end = strstr(reason, ".\n"); /* a reason ends its sentence */
        if (end)
            *end = '\0';
        ck_assert_msg(strstr(reason, "creating and joining") == NULL &&
                          strstr(reason, "more than this little work") == NULL,
                      "the start-up cost is blamed for what one CPU does: %s",
                      reason);
        ck_assert_msg(strstr(reason, "may use one CPU only") != NULL ||
                          strstr(reason, "noise") != NULL,
                      "the one CPU is not named: %s", reason);
    }
    program_result_free(&r);
}
END_TEST

/* The REPORT's verdict on the emulated GIL checks both halves of the
 * documents' result: threads gain nothing AND processes scale.  Fed data
 * where CPython's processes did not scale, it must not say they did (the
 * old verdict read only the threads). */
static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

START_TEST(report_verdict_checks_processes_too)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], c_file[600], py_file[600], command[2048];
    snprintf(dir, sizeof dir, "%s/count-report-XXXXXX", tmp);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(c_file, sizeof c_file, "%s/c.csv", dir);
    snprintf(py_file, sizeof py_file, "%s/py.csv", dir);
    const char *header = "config,mode,gil,workers,iterations,n,min_s,median_s,"
                         "max_s,mean_s,speedup,speedup_min,speedup_max\n";
    char c_rows[1024], py_rows[1024];
    snprintf(c_rows, sizeof c_rows, "%s"
             "serial,serial,0,2,100,3,1,1,1,1,1,1,1\n"
             "thread+gil,thread,1,2,100,3,1,1,1,1,0.99,0.98,1.0\n"
             "process,process,0,2,100,3,1,1,1,1,1.90,1.8,1.95\n", header);
    write_text(c_file, c_rows);
    const char *verdicts[2] = {NULL, NULL};
    for (int scales = 0; scales < 2; scales++) {
        snprintf(py_rows, sizeof py_rows, "%s"
                 "python-serial,python-serial,1,2,10,3,1,1,1,1,1,1,1\n"
                 "python-thread,python-thread,1,2,10,3,1,1,1,1,1.01,0.99,1.02\n"
                 "python-process,python-process,1,2,10,3,1,1,1,1,%s\n",
                 header, scales ? "1.85,1.8,1.9" : "1.02,1.0,1.05");
        write_text(py_file, py_rows);
        snprintf(command, sizeof command,
                 "awk -F, -v cores=2 -v py_version=3 -v c_iterations=100 -f "
                 "%s/labs/02-count/report-cpython.awk %s %s",
                 SOURCE_DIR, c_file, py_file);
        FILE *out = popen(command, "r");
        ck_assert_ptr_nonnull(out);
        static char text[2][8192];
        size_t n = fread(text[scales], 1, sizeof text[scales] - 1, out);
        text[scales][n] = '\0';
        ck_assert_int_eq(pclose(out), 0);
        verdicts[scales] = strstr(text[scales], "Verdict, processes:");
        ck_assert_msg(verdicts[scales] != NULL, "no verdict on processes:\n%s",
                      text[scales]);
    }
    ck_assert_msg(strstr(verdicts[0], "both scale") == NULL &&
                      strstr(verdicts[0], "barely scale") != NULL,
                  "CPython processes at 1.02x called scaling: %s", verdicts[0]);
    ck_assert_msg(strstr(verdicts[1], "both scale") != NULL, "%s", verdicts[1]);
    unlink(c_file);
    unlink(py_file);
    rmdir(dir);
}
END_TEST

/* --quiz shows the problem and runs nothing; the same seed is the same
 * problem; --answer predicts with the experiment's own rule (the bound the
 * run prints) and then runs it. */
START_TEST(quiz_hides_and_answer_predicts_what_the_run_prints)
{
    const char *quiz_argv[] = {"count", "--quiz", "--seed", "11", NULL};
    struct program_result first = run_count(quiz_argv);
    struct program_result again = run_count(quiz_argv);
    ck_assert_msg(first.status == 0, "exit %d: %s", first.status, first.err);
    ck_assert_str_eq(first.out, again.out);
    ck_assert_msg(strstr(first.out, "== serial") == NULL &&
                      strstr(first.out, "Summary") == NULL,
                  "the quiz ran the experiment:\n%s", first.out);
    int workers = 0, cpus = 0;
    const char *setup = strstr(first.out, "(seed 11): ");
    ck_assert_msg(setup != NULL && sscanf(setup, "(seed 11): %d worker", &workers) == 1,
                  "%s", first.out);
    const char *may = strstr(first.out, "may use ");
    ck_assert(may != NULL && sscanf(may, "may use %d CPU", &cpus) == 1);
    int marks = 0;
    for (const char *q = first.out; (q = strstr(q, "  ?\n")) != NULL; q++)
        marks++;
    ck_assert_msg(marks == 3, "three results hidden, got %d:\n%s", marks,
                  first.out);
    program_result_free(&first);
    program_result_free(&again);

    /* Small and quick: the answer's size flags override the seed's. */
    const char *answer_argv[] = {"count", "--answer", "--seed", "11",
                                 "--iterations", "2M", NULL};
    struct program_result r = run_count(answer_argv);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    int bound = workers < cpus ? workers : cpus;
    char expected[64];
    snprintf(expected, sizeof expected, "at most %dx is possible", bound);
    ck_assert_msg(strstr(r.out, expected) != NULL, "the run says another "
                  "bound than min(%d, %d):\n%s", workers, cpus, r.out);
    snprintf(expected, sizeof expected, "thread      predicted at most %dx",
             bound);
    ck_assert_msg(strstr(r.out, expected) != NULL, "no '%s':\n%s", expected,
                  r.out);
    ck_assert_msg(strstr(r.out, "thread+gil  predicted at most 1x") != NULL,
                  "%s", r.out);
    program_result_free(&r);
}
END_TEST

/* Bad command lines: exit 2, the flag named on stderr's first line, the
 * usage hint on the second, nothing on stdout (nothing ran). */
static const struct bad_line bad_lines[] = {
    {{"--workers", "abc"}, "--workers"},
    {{"--workers", "0"}, "--workers"},
    {{"--workers", "-1"}, "--workers"},
    {{"--workers", "99999999999999999999"}, "--workers"},
    {{"--workers", "2000"}, "--workers"},
    {{"--iterations", "1e30"}, "--iterations"},
    {{"--iterations", "1.5"}, "--iterations"},
    {{"--timeout", "1e30"}, "--timeout"},
    {{"--timeout", "0"}, "--timeout"},
    {{"--repeat", "0"}, "--repeat"},
    {{"--mode", "fast"}, "--mode"},
    {{"--workers"}, "--workers"},
    {{"--workers="}, "--workers"},
    {{"--bogus"}, "--bogus"},
    {{"--csv=yes"}, "--csv"},
    {{"--gil"}, "--gil"},
    {{"--gil", "--mode", "process"}, "--gil"},
    {{"--gil", "--mode", "serial"}, "--gil"},
    {{"--switch-interval", "2", "--mode", "process"}, "--switch-interval"},
    {{"--switch-interval", "-5", "--mode", "all"}, "--switch-interval"},
    {{"--workers", "2", "--workers", "3"}, "--workers"},
    {{"5"}, "'5'"},
    {{"--seed", "3"}, "--seed"},
    {{"--quiz", "--answer"}, "--quiz"},
    {{"--quiz", "--csv"}, "--quiz"},
    {{"--quiz", "--repeat", "3"}, "--quiz"},
    {{"--answer", "--mode", "thread"}, "--quiz"},
};

START_TEST(bad_command_line_is_refused_with_exit_2)
{
    expect_usage_error("count", &bad_lines[_i]);
}
END_TEST

START_TEST(help_explains_flags_and_exit_codes)
{
    const char *argv[] = {"count", "--workers", "abc", "--help", NULL};
    struct program_result r = run_count(argv);
    ck_assert_int_eq(r.status, 0);
    const char *expected[] = {"--mode", "--gil", "--workers", "--iterations",
                              "--repeat", "--warmup", "--switch-interval",
                              "--timeout", "--csv", "Exit status", "E1"};
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        ck_assert_msg(strstr(r.out, expected[i]) != NULL, "--help lacks %s",
                      expected[i]);
    program_result_free(&r);
}
END_TEST

/* A run forced past --timeout: exit 3, a diagnosis, and every worker
 * process killed and reaped (the subreaper would inherit any survivor). */
START_TEST(watchdog_stops_a_run_past_its_timeout)
{
    become_subreaper();
    const char *mode = _i == 0 ? "process" : "thread";
    const char *argv[] = {"count", "--mode", mode, "--workers", "2",
                          "--iterations", "1000G", "--timeout", "0.3", NULL};
    struct program_result r = run_count(argv);
    ck_assert_msg(r.status == 3, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_msg(r.seconds < 0.3 + 2 * time_scale(), "took %.2f s", r.seconds);
    ck_assert_ptr_nonnull(strstr(r.err, "did not finish within 0.3 s"));
    if (_i == 0)
        ck_assert_ptr_nonnull(strstr(r.err, "stopping 2 child processes"));
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

static void wait_for_children(pid_t pid, int count)
{
    pid_t pids[16];
    double deadline = clock_seconds() + 5 * time_scale();
    while (children_of(pid, pids, 16) < count) {
        ck_assert_msg(clock_seconds() < deadline, "workers never started");
        clock_sleep(0.01);
    }
}

/* Ctrl+C in a terminal sends SIGINT to the whole foreground job: the parent
 * and its workers.  The parent must still reap every worker and exit 130. */
START_TEST(ctrl_c_leaves_no_child_behind)
{
    become_subreaper();
    const char *argv[] = {"count", "--mode", "process", "--workers", "2",
                          "--iterations", "1000G", "--timeout", "60", NULL};
    struct running_program program = program_start(argv);
    wait_for_children(program.pid, 2);
    ck_assert_int_eq(kill(-program.pid, SIGINT), 0); /* the whole group */
    struct program_result r = program_finish(&program, 10 * time_scale());
    ck_assert_msg(r.status == 130, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "interrupted by INT"));
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* The lab's own check must be able to fail: kill its workers mid-count and
 * it must say the result is wrong and exit 1 (not 0, not a hang). */
START_TEST(a_killed_worker_makes_the_result_wrong)
{
    become_subreaper();
    const char *argv[] = {"count", "--mode", "process", "--workers", "2",
                          "--iterations", "1000G", "--timeout", "60", NULL};
    struct running_program program = program_start(argv);
    wait_for_children(program.pid, 2);
    pid_t workers[2];
    ck_assert_int_eq(children_of(program.pid, workers, 2), 2);
    kill(workers[0], SIGKILL);
    kill(workers[1], SIGKILL);
    struct program_result r = program_finish(&program, 10 * time_scale());
    ck_assert_msg(r.status == 1, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "killed by signal 9"));
    ck_assert_ptr_nonnull(strstr(r.err, "WRONG"));
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

Suite *count_suite(void)
{
    Suite *suite = suite_create("count");
    TCase *output = tcase_create("count_output");
    tcase_set_timeout(output, 60);
    tcase_add_test(output, csv_mode_all_has_every_configuration_and_correct_totals);
    tcase_add_loop_test(output, csv_single_mode_runs_only_that_mode, 0,
                        (int)(sizeof single_modes / sizeof *single_modes));
    tcase_add_test(output, narration_shows_separate_processes);
    tcase_add_test(output, narration_shows_threads_of_one_process);
    tcase_add_test(output, gil_run_reports_its_counters);
    tcase_add_test(output, mode_all_prints_the_summary_table);
    tcase_add_test(output, one_allowed_cpu_is_named_as_the_reason);
    tcase_add_test(output, report_verdict_checks_processes_too);
    tcase_add_test(output, quiz_hides_and_answer_predicts_what_the_run_prints);
    suite_add_tcase(suite, output);

    TCase *usage = tcase_create("count_usage");
    tcase_set_timeout(usage, 30);
    tcase_add_loop_test(usage, bad_command_line_is_refused_with_exit_2, 0,
                        (int)(sizeof bad_lines / sizeof *bad_lines));
    tcase_add_test(usage, help_explains_flags_and_exit_codes);
    suite_add_tcase(suite, usage);

    TCase *stopping = tcase_create("count_stopping");
    tcase_set_timeout(stopping, 30);
    tcase_add_loop_test(stopping, watchdog_stops_a_run_past_its_timeout, 0, 2);
    tcase_add_test(stopping, ctrl_c_leaves_no_child_behind);
    tcase_add_test(stopping, a_killed_worker_makes_the_result_wrong);
    suite_add_tcase(suite, stopping);
    return suite;
}
