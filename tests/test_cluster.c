/* test_cluster.c: integration tests of lab 10 (build/bin/cluster under labs/10-cluster/cluster.sh, E17).
 *
 * They run the real launcher on fake hosts and check its claims from the
 * CSV and the exit statuses: the reduced total, each rank's host and pid,
 * a wrong total caught (exit 1), the watchdog (exit 3), bad input refused
 * before mpirun starts (exit 2), and no process left behind (the test is
 * the subreaper of everything the launcher starts).  mpirun costs about
 * 0.35 s a start and cluster.sh starts it twice (the empty run, then the
 * run), so there are few runs, small ones, and only the first measures
 * the start-up (the others pass --startup, which skips the empty run).  Without Open MPI the
 * lab is not built: one test says so and passes.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COUNT_HEADER "type,rep,rank,size,host,pid,iterations,seconds"

#ifndef SOURCE_DIR
#define SOURCE_DIR "."
#endif

/* Where program_run() finds the programs: BIN_DIR, the build of this
 * variant, or LAB_BIN_DIR when set (make grade). */
static const char *bin_dir(void)
{
    const char *dir = getenv("LAB_BIN_DIR");
    return dir != NULL ? dir : BIN_DIR;
}

static bool cluster_built(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cluster", bin_dir());
    return access(path, X_OK) == 0;
}

/* program_run() runs BIN_DIR/argv[0], but cluster.sh lives in the sources.
 * ".." from the root is the root, so enough of them lead from any binary
 * directory to "/", and the repository's absolute path follows. */
static const char *script_path(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s%s/labs/10-cluster/cluster.sh",
             "../../../../../../../../../../../../../../../..", SOURCE_DIR);
    char absolute[8192];
    snprintf(absolute, sizeof absolute, "%s/%s", bin_dir(), path);
    ck_assert_msg(access(absolute, X_OK) == 0, "%s not found", absolute);
    return path;
}

/* Start cluster.sh with the binary of this build variant, in a TMPDIR of
 * its own (`tmp`), which must be empty once it has ended: cluster.sh's
 * directory, and Open MPI's session directories inside it, are gone on
 * every path (check_tmp). */
static struct running_program start_script(const char *const *args,
                                           char *tmp, size_t size)
{
    const char *argv[24] = {script_path()};
    for (int i = 0; args[i] != NULL && i < 22; i++)
        argv[i + 1] = args[i];
    char binary[4096];
    snprintf(binary, sizeof binary, "%s/cluster", bin_dir());
    setenv("CLUSTER_BIN", binary, 1);
    const char *parent = getenv("TMPDIR");
    char saved[4096] = "";
    if (parent != NULL)
        snprintf(saved, sizeof saved, "%s", parent);
    snprintf(tmp, size, "%s/cluster-test-XXXXXX", parent ? parent : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    setenv("TMPDIR", tmp, 1);
    struct running_program program = program_start(argv);
    if (saved[0] != '\0')
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    return program;
}

static void check_tmp(const char *tmp)
{
    DIR *dir = opendir(tmp);
    ck_assert_ptr_nonnull(dir);
    int left = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            fprintf(stderr, "left behind in %s: %s\n", tmp, entry->d_name);
            left++;
        }
    closedir(dir);
    ck_assert_msg(left == 0, "cluster.sh left %d entr%s in its TMPDIR %s",
                  left, left == 1 ? "y" : "ies", tmp);
    ck_assert_int_eq(rmdir(tmp), 0);
}

static struct program_result run_script(const char *const *args)
{
    char tmp[4096];
    struct running_program program = start_script(args, tmp, sizeof tmp);
    struct program_result r = program_finish(&program, 60 * time_scale());
    check_tmp(tmp);
    return r;
}

START_TEST(skipped_without_open_mpi)
{
    fprintf(stderr, "cluster: skipped: %s/cluster was not built (no mpicc: "
                    "apt-get install openmpi-bin libopenmpi-dev, or make "
                    "deps)\n", bin_dir());
}
END_TEST

/* 2 ranks on 2 fake hosts: every row of the CSV checked. */
START_TEST(two_ranks_on_two_fake_hosts)
{
    become_subreaper();
    const char *args[] = {"--hosts", "2", "--slots", "1", "--", "--workers",
                          "3", "--iterations", "1000001", "--repeat", "2",
                          "--csv", NULL};
    struct program_result r = run_script(args);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strncmp(r.out, COUNT_HEADER "\n", strlen(COUNT_HEADER) + 1) == 0,
                  "CSV must start with the header: %.100s", r.out);

    /* With UTS namespaces (root), each host's daemon has its own host
     * name: rank 0 on nodeA, rank 1 on nodeB (1 slot each).  Without, both
     * report this machine's name.  cluster.sh says which, and as root on
     * a machine that allows unshare it must be the first. */
    char machine[256] = "";
    gethostname(machine, sizeof machine - 1);
    bool named = strstr(r.err, "in its own UTS namespace") != NULL;
    ck_assert_msg(named || strstr(r.err, "no UTS namespaces") != NULL,
                  "cluster.sh must say whether the hosts have names: %s", r.err);
    if (geteuid() == 0 && system("unshare --uts true 2>/dev/null") == 0)
        ck_assert_msg(named, "root with unshare, yet no host names: %s", r.err);
    /* unpinned by default, like lab 02's processes */
    ck_assert_msg(strstr(r.err, "--bind-to none") != NULL, "stderr: %s", r.err);
    const char *expected_host[2] = {named ? "nodeA" : machine,
                                    named ? "nodeB" : machine};

    unsigned long long total = 3ULL * 1000001ULL;
    unsigned long long rank_sum[3] = {0}; /* per rep (1, 2) */
    int rank_rows = 0, run_rows = 0, slowest_rows = 0, startup_rows = 0;
    int pids[2] = {0, 0};
    char *copy = strdup(r.out + strlen(COUNT_HEADER) + 1);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char type[16], host[256];
        int rep, rank, size, pid, consumed = 0;
        unsigned long long iterations;
        double seconds;
        int fields = sscanf(line, "%15[a-z],%d,%d,%d,%255[^,],%d,%llu,%lf%n",
                            type, &rep, &rank, &size, host, &pid, &iterations,
                            &seconds, &consumed);
        ck_assert_msg(fields == 8 && line[consumed] == '\0',
                      "not a CSV row of 8 fields: '%s'", line);
        ck_assert_int_eq(size, 2);
        ck_assert_msg(seconds >= 0 && seconds < 60, "seconds %f", seconds);
        if (strcmp(type, "startup") == 0) {
            ck_assert_int_eq(rep, 0);
            ck_assert_msg(seconds > 0, "start-up %f", seconds);
            startup_rows++;
            continue;
        }
        ck_assert_msg(rep >= 1 && rep <= 2, "rep %d: '%s'", rep, line);
        if (strcmp(type, "rank") == 0) {
            ck_assert_msg(rank == 0 || rank == 1, "rank %d", rank);
            ck_assert_msg(strcmp(host, expected_host[rank]) == 0,
                          "rank %d on '%s', expected '%s'", rank, host,
                          expected_host[rank]);
            /* block split: 3000003 = 1500002 + 1500001 */
            ck_assert_uint_eq(iterations, rank == 0 ? 1500002 : 1500001);
            if (pids[rank] == 0)
                pids[rank] = pid;
            ck_assert_int_eq(pid, pids[rank]); /* the same process each rep */
            rank_sum[rep] += iterations;
            rank_rows++;
        } else {
            ck_assert_msg(strcmp(type, "run") == 0 ||
                              strcmp(type, "slowest") == 0,
                          "unexpected row: '%s'", line);
            ck_assert_int_eq(rank, 0);
            ck_assert_str_eq(host, expected_host[0]);
            ck_assert_uint_eq(iterations, total); /* the reduced sum */
            ck_assert_msg(seconds > 0, "'%s'", line);
            *(strcmp(type, "run") == 0 ? &run_rows : &slowest_rows) += 1;
        }
    }
    free(copy);
    ck_assert_int_eq(startup_rows, 1);
    ck_assert_int_eq(rank_rows, 4);
    ck_assert_int_eq(run_rows, 2);
    ck_assert_int_eq(slowest_rows, 2);
    ck_assert_uint_eq(rank_sum[1], total);
    ck_assert_uint_eq(rank_sum[2], total);
    ck_assert_int_ne(pids[0], pids[1]); /* two processes, no shared memory */
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* The check can fail: one rank made wrong on purpose, exit 1. */
START_TEST(a_wrong_total_is_caught)
{
    become_subreaper();
    const char *args[] = {"--hosts", "2", "--slots", "1", "--", "--workers",
                          "2", "--iterations", "1M", "--inject-error", "1",
                          "--warmup", "0", "--startup", "0.3", NULL};
    struct program_result r = run_script(args);
    ck_assert_msg(r.status == 1, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "cluster: WRONG: the ranks' sum is "
                                        "2000001, expected 2 x 1000000"));
    ck_assert_ptr_nonnull(strstr(r.out, "1000001"));
    ck_assert_ptr_nonnull(strstr(r.out, "WRONG"));
    ck_assert_ptr_null(strstr(r.out, "OK"));
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* A run past its --timeout: every rank's watchdog stops it, exit 3, and
 * no daemon or rank is left. */
START_TEST(watchdog_stops_the_job_and_leaves_nothing)
{
    become_subreaper();
    const char *args[] = {"--hosts", "2", "--slots", "1", "--",
                          "--iterations", "1000G", "--timeout", "0.5",
                          "--startup", "0.3", NULL};
    struct program_result r = run_script(args);
    ck_assert_msg(r.status == 3, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "did not finish within 0.5 s"));
    ck_assert_ptr_nonnull(strstr(r.err, "nothing left running (exit 3)"));
    ck_assert_msg(r.seconds < 15 * time_scale(), "took %.1f s", r.seconds);
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* Ctrl+C: the terminal sends SIGINT to the whole foreground job.
 * cluster.sh stops the launcher, which stops mpirun and reaps every
 * daemon and rank: exit 130, nothing left.  (Whether the ranks had started
 * yet when the signal came does not matter: nothing may be left either
 * way.) */
START_TEST(ctrl_c_leaves_nothing)
{
    become_subreaper();
    const char *args[] = {"--hosts", "1", "--slots", "2", "--",
                          "--iterations", "1000G", "--timeout", "60",
                          "--startup", "0", NULL};
    char tmp[4096];
    struct running_program program = start_script(args, tmp, sizeof tmp);
    clock_sleep(1.0 * time_scale());
    ck_assert_int_eq(kill(-program.pid, SIGINT), 0); /* the whole group */
    struct program_result r = program_finish(&program, 30 * time_scale());
    ck_assert_msg(r.status == 130, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "cluster.sh: interrupted"));
    ck_assert_int_eq(orphans_adopted(), 0);
    check_tmp(tmp);
    program_result_free(&r);
}
END_TEST

/* The ping-pong between 2 ranks of one host, over shared memory: one
 * latency and one bandwidth row per repetition (every reply is checked by
 * the program: exit 1 otherwise).  Few round trips: both ranks poll for
 * messages, and on a loaded machine each hand-over can wait for a time
 * slice. */
START_TEST(pingpong_reports_latency_and_bandwidth)
{
    become_subreaper();
    const char *args[] = {"--hosts", "1", "--slots", "2", "--transport", "shm",
                          "--", "--experiment", "pingpong", "--roundtrips",
                          "20", "--size", "4M", "--repeat", "2", "--warmup",
                          "0", "--startup", "0", "--csv", NULL};
    struct program_result r = run_script(args);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    const char *header = "kind,host0,host1,bytes,roundtrips,rep,seconds\n";
    ck_assert_msg(strncmp(r.out, header, strlen(header)) == 0, "stdout: %.100s",
                  r.out);
    int latency = 0, bandwidth = 0;
    char *copy = strdup(r.out + strlen(header));
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char kind[16], host0[256], host1[256];
        int bytes, rep, consumed = 0;
        unsigned long long trips;
        double seconds;
        ck_assert_msg(sscanf(line, "%15[a-z],%255[^,],%255[^,],%d,%llu,%d,%lf%n",
                             kind, host0, host1, &bytes, &trips, &rep, &seconds,
                             &consumed) == 7 && line[consumed] == '\0',
                      "not a ping-pong row: '%s'", line);
        ck_assert_str_eq(host0, host1); /* 1 host: both ranks on it */
        ck_assert_msg(seconds > 0 && rep >= 1 && rep <= 2, "'%s'", line);
        if (strcmp(kind, "latency") == 0) {
            ck_assert_int_eq(bytes, 8);
            ck_assert_uint_eq(trips, 20);
            latency++;
        } else {
            ck_assert_str_eq(kind, "bandwidth");
            ck_assert_int_eq(bytes, 4000000);
            ck_assert_uint_eq(trips, 16); /* the program's minimum */
            bandwidth++;
        }
    }
    free(copy);
    ck_assert_int_eq(latency, 2);
    ck_assert_int_eq(bandwidth, 2);
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* Bad input, to cluster.sh or to the program after --: exit 2, named,
 * nothing on stdout, and before mpirun starts.  MPIRUN names a program
 * that does not exist: had the script tried to start it, it would have
 * said so and exited 4. */
static const struct {
    const char *args[8];
    const char *prefix, *names;
} bad_lines[] = {
    {{"--hosts", "0"}, "cluster.sh", "--hosts"},
    {{"--hosts", "abc"}, "cluster.sh", "--hosts"},
    {{"--slots", "65"}, "cluster.sh", "--slots"},
    {{"--transport", "udp"}, "cluster.sh", "--transport"},
    {{"--bind", "socket"}, "cluster.sh", "--bind"},
    {{"--hosts", "2", "--bind", "core"}, "cluster.sh", "--bind"},
    {{"--hosts"}, "cluster.sh", "--hosts"},
    {{"--hosts", "2", "--hosts", "3"}, "cluster.sh", "--hosts"},
    {{"--workers", "2"}, "cluster.sh", "'--workers'"},
    {{"--", "--workers", "abc"}, "cluster", "--workers"},
    {{"--", "--iterations", "1.5"}, "cluster", "--iterations"},
    {{"--", "--experiment", "sort"}, "cluster", "--experiment"},
    {{"--", "--size", "8", "--experiment", "count"}, "cluster", "--size"},
    {{"--", "--bogus"}, "cluster", "--bogus"},
};

START_TEST(bad_input_is_refused_before_mpirun_starts)
{
    setenv("MPIRUN", "/nonexistent/mpirun", 1);
    struct program_result r = run_script(bad_lines[_i].args);
    ck_assert_msg(r.status == 2, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_str_eq(r.out, "");
    char prefix[32], hint[96];
    snprintf(prefix, sizeof prefix, "%s: ", bad_lines[_i].prefix);
    snprintf(hint, sizeof hint, "Try '%s --help' for more information.\n",
             bad_lines[_i].prefix);
    ck_assert_msg(strncmp(r.err, prefix, strlen(prefix)) == 0, "stderr: %s",
                  r.err);
    const char *newline = strchr(r.err, '\n');
    ck_assert_ptr_nonnull(newline);
    ck_assert_msg(memmem(r.err, (size_t)(newline - r.err), bad_lines[_i].names,
                         strlen(bad_lines[_i].names)) != NULL,
                  "first line must name %s: %s", bad_lines[_i].names, r.err);
    ck_assert_str_eq(newline + 1, hint);
    program_result_free(&r);
}
END_TEST

/* What only the job's size can tell is checked right after MPI_Init, by
 * every rank alike: still exit 2, nothing on stdout, rank 0 naming the
 * flag. */
static const struct {
    const char *args[12];
    const char *names;
} size_errors[] = {
    {{"--hosts", "2", "--", "--workers", "2", "--inject-error", "5",
      "--startup", "0"}, "--inject-error: rank 5, but this job has ranks 0 to 1"},
    {{"--hosts", "1", "--slots", "1", "--", "--experiment", "pingpong",
      "--startup", "0"}, "--experiment pingpong: needs 2 ranks or more"},
};

START_TEST(job_size_errors_are_usage_errors)
{
    become_subreaper();
    struct program_result r = run_script(size_errors[_i].args);
    ck_assert_msg(r.status == 2, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_str_eq(r.out, "");
    ck_assert_msg(strstr(r.err, size_errors[_i].names) != NULL, "stderr: %s",
                  r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "Try 'cluster --help'"));
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* The program itself refuses bad input before MPI_Init (run without
 * mpirun, it would otherwise start a singleton MPI job first). */
static const struct bad_line program_bad_lines[] = {
    {{"--workers", "0"}, "--workers"},
    {{"--roundtrips", "10"}, "--roundtrips"},
    {{"--experiment", "pingpong", "--inject-error", "1"}, "--inject-error"},
    {{"--startup", "-1"}, "--startup"},
    {{"--timeout", "0"}, "--timeout"},
};

START_TEST(program_refuses_bad_input)
{
    expect_usage_error("cluster", &program_bad_lines[_i]);
}
END_TEST

START_TEST(help_names_every_flag)
{
    const char *argv[] = {"cluster", "--help", NULL};
    struct program_result r = program_run(10 * time_scale(), argv);
    ck_assert_int_eq(r.status, 0);
    const char *expected[] = {"--experiment", "--workers", "--iterations",
                              "--repeat", "--roundtrips", "--size",
                              "--startup", "--inject-error", "--timeout",
                              "--csv", "--validate", "E17", "MPI_Reduce"};
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        ck_assert_msg(strstr(r.out, expected[i]) != NULL, "--help lacks %s",
                      expected[i]);
    program_result_free(&r);
}
END_TEST

Suite *cluster_suite(void)
{
    Suite *suite = suite_create("cluster");
    if (!cluster_built()) {
        TCase *skipped = tcase_create("cluster_skipped");
        tcase_add_test(skipped, skipped_without_open_mpi);
        suite_add_tcase(suite, skipped);
        return suite;
    }
    TCase *runs = tcase_create("cluster_runs");
    tcase_set_timeout(runs, 60);
    tcase_add_test(runs, two_ranks_on_two_fake_hosts);
    tcase_add_test(runs, a_wrong_total_is_caught);
    tcase_add_test(runs, watchdog_stops_the_job_and_leaves_nothing);
    tcase_add_test(runs, pingpong_reports_latency_and_bandwidth);
    tcase_add_test(runs, ctrl_c_leaves_nothing);
    suite_add_tcase(suite, runs);

    TCase *usage = tcase_create("cluster_usage");
    tcase_set_timeout(usage, 30);
    tcase_add_loop_test(usage, bad_input_is_refused_before_mpirun_starts, 0,
                        (int)(sizeof bad_lines / sizeof *bad_lines));
    tcase_add_loop_test(usage, job_size_errors_are_usage_errors, 0,
                        (int)(sizeof size_errors / sizeof *size_errors));
    tcase_add_loop_test(usage, program_refuses_bad_input, 0,
                        (int)(sizeof program_bad_lines /
                              sizeof *program_bad_lines));
    tcase_add_test(usage, help_names_every_flag);
    suite_add_tcase(suite, usage);
    return suite;
}
