/* test_share.c: integration tests of build/bin/share (lab 06, E11, E12).
 *
 * They run the real binary and check its claims: the documents' scenario
 * prints exactly what CPython prints; the copy gotcha shows the manager's
 * list unchanged until it is set back; --experiment cost --csv keeps its
 * contract (header, one row per method, client count and repetition, ops =
 * clients x updates, positive seconds); Ctrl+C and the watchdog leave no
 * process and no file behind (each run gets a private, empty TMPDIR that
 * must still be empty afterwards); bad input is exit 2.  No time is
 * asserted.  (The manager's failure paths, one by one: test_manager.c.)
 */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- A private TMPDIR per run ------------------------------------------- */

struct sandbox {
    char directory[512];
};

static void sandbox_enter(struct sandbox *box)
{
    become_subreaper();
    const char *base = getenv("TMPDIR");
    snprintf(box->directory, sizeof box->directory, "%s/share-test-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_msg(mkdtemp(box->directory) != NULL, "mkdtemp: %s",
                  strerror(errno));
    ck_assert_int_eq(setenv("TMPDIR", box->directory, 1), 0);
}

/* Count what is left in the sandbox (and remove it), then the sandbox. */
static int sandbox_leave(struct sandbox *box)
{
    int left = 0;
    DIR *directory = opendir(box->directory);
    if (directory != NULL) {
        struct dirent *entry;
        while ((entry = readdir(directory)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 ||
                strcmp(entry->d_name, "..") == 0)
                continue;
            left++;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s/socket", box->directory,
                     entry->d_name);
            unlink(path);
            snprintf(path, sizeof path, "%s/%s", box->directory,
                     entry->d_name);
            rmdir(path);
        }
        closedir(directory);
    }
    rmdir(box->directory);
    return left;
}

/* Run share; check it finished, exited `status`, left no process and no
 * file. */
static struct program_result run_share(double timeout, int status,
                                       const char *const argv[])
{
    struct sandbox box;
    sandbox_enter(&box);
    char command[512];
    describe(argv, command, sizeof command);
    struct program_result r = program_run(timeout * time_scale(), argv);
    int orphans = orphans_adopted();
    int left = sandbox_leave(&box);
    ck_assert_msg(!r.timed_out, "%s: still running after %.0f s", command,
                  timeout * time_scale());
    ck_assert_msg(r.status == status, "%s: exit %d, expected %d; stderr: %s",
                  command, r.status, status, r.err);
    ck_assert_msg(orphans == 0, "%s: left %d process(es) behind", command,
                  orphans);
    ck_assert_msg(left == 0, "%s: left %d file(s) in TMPDIR", command, left);
    return r;
}

static void expect_line(const char *out, const char *line)
{
    char wanted[512];
    snprintf(wanted, sizeof wanted, "\n%s\n", line);
    ck_assert_msg(strstr(out, wanted) != NULL, "output lacks the line \"%s\":\n%s",
                  line, out);
}

/* ---- E11 --------------------------------------------------------------------- */

START_TEST(the_documents_scenario_prints_what_python_prints)
{
    const char *argv[] = {"share", NULL};
    struct program_result r = run_share(30, 0, argv);
    expect_line(r.out, "{1: '1', '2': 2, 0.25: None}");
    expect_line(r.out, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
    ck_assert_msg(strstr(r.out, "the parent sees every change the child made") !=
                      NULL,
                  "%s", r.out);
    /* Three processes: parent, manager, child, each named by its pid. */
    int manager = 0, parent = 0, child = 0;
    ck_assert_int_eq(sscanf(strstr(r.out, "manager pid "), "manager pid %d",
                            &manager), 1);
    ck_assert_int_eq(sscanf(strstr(r.out, "parent pid "), "parent pid %d",
                            &parent), 1);
    ck_assert_int_eq(sscanf(strstr(r.out, "child  pid "), "child  pid %d",
                            &child), 1);
    ck_assert(manager != parent && child != parent && child != manager);
    ck_assert(strstr(r.out, "no server process, no socket file left") != NULL);
    ck_assert(strstr(r.out, "WRONG") == NULL);
    program_result_free(&r);
}
END_TEST

START_TEST(the_copy_gotcha_shows_the_managers_list_unchanged)
{
    const char *argv[] = {"share", "--experiment", "copy", NULL};
    struct program_result r = run_share(30, 0, argv);
    const char *in_order[] = {
        "x = d['l']; x.append(3)     -> x is [0, 1, 2, 3]",
        "child:  and yet d['l'] is [0, 1, 2]",
        "child:  d['l'] = x",
        "parent: after the child, d['l'] is [0, 1, 2, 3]",
    };
    const char *at = r.out;
    for (size_t i = 0; i < sizeof in_order / sizeof *in_order; i++) {
        const char *found = strstr(at, in_order[i]);
        ck_assert_msg(found != NULL, "lacks, in order, \"%s\":\n%s",
                      in_order[i], r.out);
        at = found;
    }
    program_result_free(&r);
}
END_TEST

START_TEST(failures_are_return_values)
{
    const char *argv[] = {"share", "--experiment", "failures", NULL};
    struct program_result r = run_share(30, 0, argv);
    const char *in_order[] = {
        "the server closed that connection;", "d['n'] = 2 still works",
        "d['n'] = 3 still works", "the manager was killed (SIGKILL): len(d) "
                                  "returned gone after",
        "no server process, no socket file left",
        "every failure came back as a return value"};
    const char *at = r.out;
    for (size_t i = 0; i < sizeof in_order / sizeof *in_order; i++) {
        const char *found = strstr(at, in_order[i]);
        ck_assert_msg(found != NULL, "lacks, in order, \"%s\":\n%s",
                      in_order[i], r.out);
        at = found;
    }
    ck_assert_msg(strstr(r.err, "malformed frame; connection closed, the "
                                "server goes on") != NULL,
                  "%s", r.err);
    program_result_free(&r);
}
END_TEST

/* ---- E11 over TCP, the key proven both ways ---------------------------------------- */

START_TEST(over_tcp_with_the_key_the_scenario_is_the_same)
{
    const char *argv[] = {"share", "--address", "tcp:127.0.0.1:0", NULL};
    struct program_result r = run_share(30, 0, argv);
    expect_line(r.out, "{1: '1', '2': 2, 0.25: None}");
    expect_line(r.out, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
    ck_assert_msg(strstr(r.out, "connected over TCP to 127.0.0.1:") != NULL &&
                      strstr(r.out, "the key proven both ways") != NULL,
                  "%s", r.out);
    ck_assert_str_eq(r.err, "");
    program_result_free(&r);
}
END_TEST

START_TEST(over_tcp_a_wrong_key_is_refused_on_both_sides)
{
    const char *argv[] = {"share", "--address", "tcp:127.0.0.1:0",
                          "--wrong-key", NULL};
    struct program_result r = run_share(30, 0, argv);
    /* The client is told, and the server says so on its side. */
    ck_assert_msg(strstr(r.out, "with a wrong key: AuthenticationError") != NULL &&
                      strstr(r.out, "it refused our answer to its challenge: "
                                    "a different key") != NULL,
                  "%s", r.out);
    ck_assert_msg(strstr(r.err, "manager: TCP connection from 127.0.0.1:") !=
                          NULL &&
                      strstr(r.err, "refused: its answer to our challenge was "
                                    "wrong") != NULL,
                  "%s", r.err);
    expect_line(r.out, "{}");
    expect_line(r.out, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
    program_result_free(&r);
}
END_TEST

/* ---- E12: the CSV contract ----------------------------------------------------- */

static const char *const methods[] = {"manager", "mutex",   "atomic",
                                      "padded",  "queue",   "channel"};

START_TEST(cost_csv_has_one_row_per_method_clients_and_repetition)
{
    const char *argv[] = {"share", "--experiment", "cost", "--workers", "3",
                          "--iterations", "500", "--repeat", "2", "--warmup",
                          "0", "--csv", NULL};
    struct program_result r = run_share(60, 0, argv);
    ck_assert_str_eq(r.err, "");
    char *save = NULL, *line = strtok_r(r.out, "\n", &save);
    ck_assert_str_eq(line, "method,clients,ops,seconds");
    const int clients[] = {1, 2, 3}; /* powers of two, then --workers */
    int rows = 0;
    for (size_t m = 0; m < 6; m++)
        for (int c = 0; c < 3; c++)
            for (int rep = 0; rep < 2; rep++) {
                line = strtok_r(NULL, "\n", &save);
                ck_assert_msg(line != NULL, "missing row %d", rows);
                char method[32];
                int n = 0;
                unsigned long ops = 0;
                double seconds = 0;
                ck_assert_msg(sscanf(line, "%31[^,],%d,%lu,%lf", method, &n,
                                     &ops, &seconds) == 4,
                              "bad row: %s", line);
                ck_assert_str_eq(method, methods[m]);
                ck_assert_int_eq(n, clients[c]);
                ck_assert_uint_eq(ops, 500UL * (unsigned long)clients[c]);
                ck_assert_msg(seconds > 0 && seconds < 60, "%s", line);
                rows++;
            }
    ck_assert_ptr_null(strtok_r(NULL, "\n", &save));
    program_result_free(&r);
}
END_TEST

START_TEST(cost_connect_per_call_is_its_own_method)
{
    const char *argv[] = {"share", "--experiment", "cost", "--method",
                          "manager", "--connect-per-call", "--workers", "2",
                          "--iterations", "200", "--repeat", "1", "--csv",
                          NULL};
    struct program_result r = run_share(60, 0, argv);
    ck_assert_int_eq(count_lines(r.out), 3);
    ck_assert(strstr(r.out, "\nmanager-connect-per-call,1,200,") != NULL);
    ck_assert(strstr(r.out, "\nmanager-connect-per-call,2,400,") != NULL);
    program_result_free(&r);
}
END_TEST

START_TEST(cost_without_csv_is_narrated)
{
    const char *argv[] = {"share", "--experiment", "cost", "--workers", "2",
                          "--iterations", "300", "--repeat", "1", "--warmup",
                          "0", NULL};
    struct program_result r = run_share(60, 0, argv);
    for (size_t m = 0; m < 6; m++) {
        char row[64];
        snprintf(row, sizeof row, "\n  %-8s %7d", methods[m], 2);
        ck_assert_msg(strstr(r.out, row) != NULL, "lacks %s:\n%s", methods[m],
                      r.out);
    }
    ck_assert(strstr(r.out, "one client: a manager proxy call took") != NULL);
    program_result_free(&r);
}
END_TEST

/* ---- Nothing left behind -------------------------------------------------------- */

START_TEST(ctrl_c_and_the_watchdog_leave_nothing_behind)
{
    /* _i == 0: Ctrl+C in the middle of manager calls; 1: --timeout. */
    const char *interrupted[] = {"share", "--experiment", "cost", "--method",
                                 "manager", "--iterations", "100M", NULL};
    const char *timed_out[] = {"share", "--experiment", "cost", "--method",
                               "manager", "--iterations", "100M",
                               "--timeout", "0.5", NULL};
    struct sandbox box;
    sandbox_enter(&box);
    struct running_program program =
        program_start(_i == 0 ? interrupted : timed_out);
    pid_t children[8];
    double deadline = clock_seconds() + 10 * time_scale();
    bool started;
    /* The manager and at least one client. */
    while (!(started = children_of(program.pid, children, 8) >= 2) &&
           clock_seconds() < deadline)
        clock_sleep(0.001);
    if (_i == 0) {
        clock_sleep(0.1);
        ck_assert_int_eq(kill(-program.pid, started ? SIGINT : SIGKILL), 0);
    }
    struct program_result r = program_finish(&program, 20 * time_scale());
    int orphans = orphans_adopted();
    int left = sandbox_leave(&box);
    ck_assert_msg(started, "no children started: %s", r.err);
    ck_assert_msg(r.status == (_i == 0 ? 130 : 3), "exit %d; stderr: %s",
                  r.status, r.err);
    if (_i == 1)
        ck_assert_msg(strstr(r.err, "stopped while in: manager") != NULL, "%s",
                      r.err);
    ck_assert_msg(orphans == 0, "left %d process(es) behind", orphans);
    ck_assert_msg(left == 0, "left %d file(s) in TMPDIR", left);
    program_result_free(&r);
}
END_TEST

/* ---- Bad command lines ------------------------------------------------------------ */

static const struct bad_line bad_lines[] = {
    {{"--experiment", "server"}, "--experiment"},
    {{"--experiment", "failures", "--csv"}, "--csv"},
    {{"--csv"}, "--csv"},
    {{"--workers", "2"}, "--workers"},
    {{"--experiment", "copy", "--method", "atomic"}, "--method"},
    {{"--experiment", "cost", "--method", "pipe"}, "--method"},
    {{"--experiment", "cost", "--workers", "0"}, "--workers"},
    {{"--experiment", "cost", "--workers", "65"}, "--workers"},
    {{"--experiment", "cost", "--iterations", "abc"}, "--iterations"},
    {{"--experiment", "cost", "--method", "atomic", "--connect-per-call"},
     "--connect-per-call"},
    {{"--experiment", "cost", "--repeat", "0"}, "--repeat"},
    {{"stray"}, "stray"},
    {{"--address", "tcp:10.0.0.1:80"}, "--address"},
    {{"--address", "127.0.0.1:80"}, "--address"},
    {{"--address", "tcp:127.0.0.1:70000"}, "--address"},
    {{"--address", "tcp:127.0.0.1:-1"}, "--address"},
    {{"--experiment", "copy", "--address", "tcp:127.0.0.1:0"}, "--address"},
    {{"--wrong-key"}, "--wrong-key"},
};

START_TEST(bad_command_line_is_refused_with_exit_2)
{
    expect_usage_error("share", &bad_lines[_i]);
}
END_TEST

START_TEST(help_explains_experiments_columns_and_exit_codes)
{
    const char *argv[] = {"share", "--help", NULL};
    struct program_result r = run_share(30, 0, argv);
    const char *words[] = {"E11", "E12", "--experiment", "--method",
                           "--workers", "--iterations", "--connect-per-call",
                           "--repeat", "--csv", "CSV: method,clients,ops,seconds",
                           "--address", "--wrong-key",
                           "Exit 1"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        ck_assert_msg(strstr(r.out, words[i]) != NULL, "--help lacks %s",
                      words[i]);
    program_result_free(&r);
}
END_TEST

Suite *share_suite(void)
{
    Suite *suite = suite_create("share");
    TCase *experiments = tcase_create("share_experiments");
    tcase_set_timeout(experiments, 60);
    tcase_add_checked_fixture(experiments, default_signals, NULL);
    tcase_add_test(experiments, the_documents_scenario_prints_what_python_prints);
    tcase_add_test(experiments, the_copy_gotcha_shows_the_managers_list_unchanged);
    tcase_add_test(experiments, failures_are_return_values);
    tcase_add_test(experiments, over_tcp_with_the_key_the_scenario_is_the_same);
    tcase_add_test(experiments, over_tcp_a_wrong_key_is_refused_on_both_sides);
    tcase_add_test(experiments,
                   cost_csv_has_one_row_per_method_clients_and_repetition);
    tcase_add_test(experiments, cost_connect_per_call_is_its_own_method);
    tcase_add_test(experiments, cost_without_csv_is_narrated);
    tcase_add_loop_test(experiments, ctrl_c_and_the_watchdog_leave_nothing_behind,
                        0, 2);
    suite_add_tcase(suite, experiments);

    TCase *usage = tcase_create("share_usage");
    tcase_set_timeout(usage, 30);
    tcase_add_loop_test(usage, bad_command_line_is_refused_with_exit_2, 0,
                        (int)(sizeof bad_lines / sizeof *bad_lines));
    tcase_add_test(usage, help_explains_experiments_columns_and_exit_codes);
    suite_add_tcase(suite, usage);
    return suite;
}
