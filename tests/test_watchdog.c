/* test_watchdog.c: no run hangs, and no run leaves a process behind
 * (common/watchdog.h).
 *
 * The watchdog ends its process, so every scenario runs in a sub-child forked
 * here *before any thread exists in it*; the sub-child calls watchdog_start
 * (which creates the watchdog thread) and then proc_start.  (ThreadSanitizer
 * does not support a process with threads forking a child that creates
 * threads.)
 *
 * The sub-child's children drop PR_SET_PDEATHSIG and then announce their pid
 * on a pipe: after that, only the watchdog's kill can end them, so "nothing
 * left" (children_left, with this test process as subreaper) really tests the
 * watchdog and not the kernel.
 *
 * The stall detector (watchdog_set_stall) is driven by a fake progress
 * report whose count moves every 0.1 s until a chosen moment, and whose
 * "every party blocked" is fixed per scenario.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "checked.h"
#include "log.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Count what is left, then make sure nothing is (a failing test must not
 * leak sleepers either), and return the count. */
static int leftovers(const pid_t *pids, int count)
{
    int left = children_left(1.0 * time_scale());
    for (int i = 0; i < count; i++)
        if (pid_exists(pids[i])) {
            left += left == 0;
            kill(pids[i], SIGKILL);
        }
    children_left(1.0);
    return left;
}

/* ---- Scenarios (sub-child bodies) ---------------------------------------- */

struct scenario {
    int pipe[2];      /* children announce their pid here */
    int children;     /* how many sleepers to start */
    double timeout;   /* the watchdog's */
    bool own_group;   /* setpgid(0, 0) first, as a shell does for a job */
    bool diagnose;
    bool cold_registry; /* see registry_shared_with_watchdog_thread */
};

static int announce_and_sleep(void *arg)
{
    int fd = *(const int *)arg;
    prctl(PR_SET_PDEATHSIG, 0); /* only an explicit kill ends us now */
    pid_t self = getpid();
    if (write(fd, &self, sizeof self) != (ssize_t)sizeof self)
        return 1;
    for (;;)
        pause();
    return 0;
}

static void diagnose(void *arg, FILE *out)
{
    fprintf(out, "diagnosis: worker %d waits on the lock\n", *(const int *)arg);
}

/* Start the watchdog and the sleepers, then wait for them forever. */
static int hang_with_children(void *arg)
{
    struct scenario *s = arg;
    if (s->own_group)
        setpgid(0, 0);
    close(s->pipe[0]);
    /* Use the registry once before the watchdog thread exists, so its
     * lazily set owner (proc.c, registry_owner) is written before
     * pthread_create and every later access only reads it.  Without this,
     * ThreadSanitizer reports the known race on registry_owner in every
     * scenario; registry_shared_with_watchdog_thread isolates it. */
    if (!s->cold_registry)
        proc_active_count();
    watchdog_start("wdtest", s->timeout);
    static int worker = 42;
    if (s->diagnose)
        watchdog_set_diagnosis(diagnose, &worker);
    struct proc children[4];
    for (int i = 0; i < s->children; i++)
        proc_start_keeping(&children[i], "sleeper", announce_and_sleep,
                           &s->pipe[1], PROC_FDS(s->pipe[1]));
    for (int i = 0; i < s->children; i++)
        proc_join(&children[i], -1);
    printf("joined: the watchdog did not stop the run\n");
    return 0;
}

/* Run `s` in a sub-child, collect the children's pids. */
static struct sub start_scenario(struct scenario *s, pid_t *pids)
{
    ck_assert_int_eq(pipe(s->pipe), 0);
    struct sub sub = sub_start(hang_with_children, s);
    close(s->pipe[1]);
    for (int i = 0; i < s->children; i++) {
        pids[i] = read_pid(s->pipe[0], 5);
        ck_assert(pid_exists(pids[i]));
    }
    close(s->pipe[0]);
    return sub;
}

/* ---- A run that finishes ------------------------------------------------- */

static int quick_child(void *arg)
{
    (void)arg;
    return 0;
}

static int finish_in_time(void *arg)
{
    (void)arg;
    watchdog_start("wdtest", 30);
    struct proc child;
    proc_start(&child, "quick", quick_child, NULL);
    if (!proc_join(&child, -1) || child.exitcode != 0)
        return 11;
    watchdog_stop();
    printf("done\n");
    return 0;
}

START_TEST(run_finishes_before_deadline)
{
    become_subreaper();
    double start = clock_seconds();
    struct sub sub = sub_start(finish_in_time, NULL);
    struct sub_result *r = sub_finish(&sub, 10);
    double took = clock_seconds() - start;
    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->err);
    ck_assert_str_eq(r->out, "done\n");
    ck_assert_str_eq(r->err, "");
    /* watchdog_stop ended the thread at once, without waiting for the
     * 30 s deadline. */
    ck_assert_msg(took < 5.0 * time_scale(), "took %.3f s", took);
    ck_assert_int_eq(children_left(1.0), 0);
}
END_TEST

static int stop_then_outlive_deadline(void *arg)
{
    (void)arg;
    /* Scaled: under ThreadSanitizer on a busy machine, starting the
     * watchdog's thread alone has taken longer than 0.1 s, and then the
     * deadline rightly passes before watchdog_stop() is called. */
    watchdog_start("wdtest", 0.1 * time_scale());
    watchdog_stop();
    watchdog_stop(); /* harmless */
    clock_sleep(0.4 * time_scale()); /* well past the deadline */
    return 0;
}

/* A fork right after watchdog_start(): the child names itself (prctl,
 * which the sanitizer runtimes intercept and which takes their thread
 * registry lock) and exits.  If watchdog_start() returned while its thread
 * was still starting, a child could inherit that lock held and hang; the
 * parent's proc_join bound then reports it.  (Seen in CI under ASan: the
 * handshake in watchdog_start() is the fix.)  Many rounds, because the
 * window is microseconds wide: without the fix, about one ASan run in four
 * of this test hung. */
static int name_and_exit(void *arg)
{
    (void)arg;
    log_set_name("forked-early");
    return 0;
}

static int fork_right_after_start(void *arg)
{
    (void)arg;
    for (int round = 0; round < 40; round++) {
        watchdog_start("wdtest", 30 * time_scale());
        struct proc children[8];
        for (int i = 0; i < 8; i++)
            proc_start(&children[i], "forked-early", name_and_exit, NULL);
        for (int i = 0; i < 8; i++) {
            SUB_EXPECT(proc_join(&children[i], 2 * time_scale()), 1);
            SUB_EXPECT(children[i].exitcode == 0, 2);
        }
        watchdog_stop();
    }
    return 0;
}

START_TEST(fork_right_after_start_never_hangs)
{
    struct sub_result *r = run_sub(fork_right_after_start, NULL, 120);
    ck_assert_msg(!r->timed_out && r->status == 0, "exit %d: %s", r->status,
                  r->err);
}
END_TEST

START_TEST(stopped_watchdog_never_fires)
{
    struct sub sub = sub_start(stop_then_outlive_deadline, NULL);
    struct sub_result *r = sub_finish(&sub, 10);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->err);
    ck_assert_str_eq(r->err, "");
}
END_TEST

/* ---- The deadline -------------------------------------------------------- */

START_TEST(deadline_kills_children_exit_3)
{
    become_subreaper();
    struct scenario s = {.children = 2, .timeout = 0.3};
    pid_t pids[2];
    double start = clock_seconds();
    struct sub sub = start_scenario(&s, pids);
    struct sub_result *r = sub_finish(&sub, 10);
    double took = clock_seconds() - start;
    int left = leftovers(pids, 2);

    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    ck_assert_msg(took >= 0.25 && took < 2.0 * time_scale(),
                  "a 0.3 s watchdog stopped the run after %.3f s", took);
    ck_assert_ptr_null(strstr(r->out, "joined"));
    ck_assert_msg(strstr(r->err, "wdtest: watchdog: the run did not finish "
                                 "within 0.3 s") != NULL,
                  "stderr: %s", r->err);
    ck_assert_msg(strstr(r->err, "stopping 2 child processes") != NULL,
                  "stderr: %s", r->err);
    for (int i = 0; i < 2; i++) {
        char pid[16];
        snprintf(pid, sizeof pid, " %d", (int)pids[i]);
        ck_assert_msg(strstr(r->err, pid) != NULL, "pid %d not named: %s",
                      (int)pids[i], r->err);
    }
    ck_assert_ptr_nonnull(strstr(r->err, "(exit 3)"));
    ck_assert_msg(left == 0, "%d process(es) left behind", left);
    for (int i = 0; i < 2; i++)
        ck_assert(!pid_exists(pids[i]));
}
END_TEST

START_TEST(deadline_calls_diagnosis)
{
    become_subreaper();
    struct scenario s = {.children = 1, .timeout = 0.2, .diagnose = true};
    pid_t pids[1];
    struct sub sub = start_scenario(&s, pids);
    struct sub_result *r = sub_finish(&sub, 10);
    int left = leftovers(pids, 1);
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    const char *timeout = strstr(r->err, "did not finish within 0.2 s");
    const char *diagnosis = strstr(r->err, "diagnosis: worker 42 waits on the "
                                           "lock\n");
    const char *stopping = strstr(r->err, "stopping 1 child process (pid");
    ck_assert_msg(timeout && diagnosis && stopping, "stderr: %s", r->err);
    /* Explained first, then killed. */
    ck_assert(timeout < diagnosis && diagnosis < stopping);
    ck_assert_int_eq(left, 0);
}
END_TEST

/* KNOWN BUG (fails under ThreadSanitizer only): as a lab does it --
 * watchdog_start() first, then proc_start() -- the main thread writes
 * registry_owner (proc.c, registry_lock) after the watchdog thread exists,
 * and the watchdog thread reads it (registry_lock via proc_list_active, and
 * proc_kill_all_and_reap) with no lock or atomic between them: a data race.
 * TSan makes the sub-child exit 66 with the report on stderr. */
START_TEST(registry_shared_with_watchdog_thread)
{
    become_subreaper();
    struct scenario s = {.children = 1, .timeout = 0.2, .cold_registry = true};
    pid_t pids[1];
    struct sub sub = start_scenario(&s, pids);
    struct sub_result *r = sub_finish(&sub, 10);
    int left = leftovers(pids, 1);
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    ck_assert_ptr_nonnull(strstr(r->err, "stopping 1 child process (pid"));
    ck_assert_int_eq(left, 0);
}
END_TEST

static int hang_alone(void *arg)
{
    (void)arg;
    watchdog_start("wdtest", 0.2);
    for (;;)
        pause();
    return 0;
}

START_TEST(deadline_without_children)
{
    struct sub sub = sub_start(hang_alone, NULL);
    struct sub_result *r = sub_finish(&sub, 10);
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    ck_assert_ptr_nonnull(strstr(r->err, "did not finish within 0.2 s"));
    ck_assert_ptr_null(strstr(r->err, "stopping"));
}
END_TEST

/* ---- The stall detector -------------------------------------------------- */

struct stall_case {
    double timeout, stall;
    double progress_until; /* the count moves every 0.1 s until then */
    bool all_blocked;
    double finish_after;   /* < 0: hang; else stop the watchdog then, exit 0 */
};

static double stall_case_started;

static struct watchdog_progress fake_progress(void *arg)
{
    const struct stall_case *c = arg;
    double t = clock_seconds() - stall_case_started;
    if (t > c->progress_until)
        t = c->progress_until;
    return (struct watchdog_progress){.count = (uint64_t)(t * 10),
                                      .all_blocked = c->all_blocked};
}

static int sleep_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static int stall_scenario(void *arg)
{
    struct stall_case *c = arg;
    proc_active_count(); /* see hang_with_children */
    watchdog_start("wdtest", c->timeout);
    static int worker = 42;
    watchdog_set_diagnosis(diagnose, &worker);
    stall_case_started = clock_seconds();
    /* Set while the watchdog thread sleeps in a poll of up to the whole
     * --timeout: it must be woken to start looking. */
    watchdog_set_stall(c->stall, fake_progress, c);
    struct proc child;
    proc_start(&child, "sleeper", sleep_forever, NULL);
    if (c->finish_after < 0) {
        proc_join(&child, -1);
        printf("joined: the watchdog did not stop the run\n");
        return 0;
    }
    clock_sleep(c->finish_after);
    watchdog_stop();
    proc_signal(&child, SIGKILL);
    proc_join(&child, -1);
    printf("done\n");
    return 0;
}

START_TEST(stall_fires_when_blocked_without_progress)
{
    become_subreaper();
    struct stall_case c = {.timeout = 30, .stall = 0.3, .progress_until = 0,
                           .all_blocked = true, .finish_after = -1};
    double start = clock_seconds();
    struct sub_result *r = run_sub(stall_scenario, &c, 10);
    double took = clock_seconds() - start;
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    ck_assert_msg(took >= 0.3 && took < 0.3 + 3.0 * time_scale(),
                  "a 0.3 s stall stopped the run after %.3f s", took);
    const char *headline = strstr(r->err, "wdtest: watchdog: no progress for ");
    const char *blocked = strstr(r->err, " s while every party is blocked: a "
                                         "deadlock (--stall 0.3)\n");
    const char *diagnosis = strstr(r->err, "diagnosis: worker 42 waits on the "
                                           "lock\n");
    const char *stopping = strstr(r->err, "stopping 1 child process (pid");
    const char *stopped = strstr(r->err, "stopped; nothing left running (exit 3)");
    ck_assert_msg(headline && blocked && diagnosis && stopping && stopped,
                  "stderr: %s", r->err);
    ck_assert(headline < diagnosis && diagnosis < stopping && stopping < stopped);
    ck_assert_ptr_null(strstr(r->err, "did not finish within"));
    ck_assert_ptr_null(strstr(r->out, "joined"));
    ck_assert_int_eq(children_left(1.0 * time_scale()), 0);
}
END_TEST

START_TEST(progress_restarts_the_stall_clock)
{
    become_subreaper();
    /* Blocked all along, but progress every 0.1 s until 0.8 s: the stall
     * (0.3 s) can only count from there. */
    struct stall_case c = {.timeout = 30, .stall = 0.3, .progress_until = 0.8,
                           .all_blocked = true, .finish_after = -1};
    double start = clock_seconds();
    struct sub_result *r = run_sub(stall_scenario, &c, 10);
    double took = clock_seconds() - start;
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    ck_assert_msg(took >= 1.05 && took < 1.1 + 3.0 * time_scale(),
                  "expected the stall at ~1.1 s, it came after %.3f s", took);
    ck_assert_msg(strstr(r->err, "(--stall 0.3)") != NULL, "%s", r->err);
    ck_assert_int_eq(children_left(1.0 * time_scale()), 0);
}
END_TEST

START_TEST(party_not_blocked_is_not_a_stall)
{
    become_subreaper();
    /* No progress at all for 0.8 s, but a party runs (a slow run): the
     * 0.2 s stall must not fire. */
    struct stall_case c = {.timeout = 30, .stall = 0.2, .progress_until = 0,
                           .all_blocked = false, .finish_after = 0.8};
    struct sub_result *r = run_sub(stall_scenario, &c, 10);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->err);
    ck_assert_str_eq(r->out, "done\n");
    ck_assert_str_eq(r->err, "");
    ck_assert_int_eq(children_left(1.0 * time_scale()), 0);
}
END_TEST

START_TEST(deadline_still_bounds_with_stall_armed)
{
    become_subreaper();
    struct stall_case c = {.timeout = 0.4, .stall = 0.1, .progress_until = 0,
                           .all_blocked = false, .finish_after = -1};
    double start = clock_seconds();
    struct sub_result *r = run_sub(stall_scenario, &c, 10);
    double took = clock_seconds() - start;
    ck_assert_msg(r->status == EXIT_WATCHDOG, "exit %d: %s", r->status, r->err);
    ck_assert_msg(took >= 0.35 && took < 0.4 + 3.0 * time_scale(), "took %.3f s",
                  took);
    ck_assert_msg(strstr(r->err, "did not finish within 0.4 s") != NULL, "%s",
                  r->err);
    ck_assert_ptr_null(strstr(r->err, "no progress"));
    ck_assert_int_eq(children_left(1.0 * time_scale()), 0);
}
END_TEST

/* ---- Signals ------------------------------------------------------------- */

static void interrupted_by(int signal_number, bool to_group, const char *name)
{
    become_subreaper();
    struct scenario s = {.children = 2, .timeout = 30, .own_group = to_group};
    pid_t pids[2];
    struct sub sub = start_scenario(&s, pids);
    /* The children are running: the sub-child has started them, so its
     * watchdog is up (it starts before any child). */
    ck_assert_int_eq(kill(to_group ? -sub.pid : sub.pid, signal_number), 0);
    double start = clock_seconds();
    struct sub_result *r = sub_finish(&sub, 10);
    double took = clock_seconds() - start;
    int left = leftovers(pids, 2);

    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == 128 + signal_number, "%s: exit %d: %s", name,
                  r->status, r->err);
    ck_assert_msg(took < 3.0 * time_scale(), "took %.3f s", took);
    char expected[64];
    snprintf(expected, sizeof expected, "wdtest: interrupted by %s", name);
    ck_assert_msg(strstr(r->err, expected) != NULL, "stderr: %s", r->err);
    ck_assert_msg(strstr(r->err, "stopping 2 child processes") != NULL,
                  "stderr: %s", r->err);
    ck_assert_msg(left == 0, "%d process(es) left behind", left);
    for (int i = 0; i < 2; i++)
        ck_assert(!pid_exists(pids[i]));
}

START_TEST(sigint_exit_130)
{
    interrupted_by(SIGINT, false, "INT");
}
END_TEST

START_TEST(ctrl_c_to_process_group)
{
    /* As a terminal's Ctrl+C: SIGINT to every process of the job.  The
     * children keep it blocked; the parent's watchdog kills them. */
    interrupted_by(SIGINT, true, "INT");
}
END_TEST

START_TEST(sigterm_exit_143)
{
    interrupted_by(SIGTERM, false, "TERM");
}
END_TEST

START_TEST(sighup_exit_129)
{
    interrupted_by(SIGHUP, false, "HUP");
}
END_TEST

/* ---- Grandchildren: nothing left when a teardown kills a child of ours ---- */

/* A middle child that starts two of its own -- one dies with it
 * (PR_SET_PDEATHSIG, as proc_start sets), one would outlive it -- and
 * announces both on the pipe. */
static int grandparent_middle(void *arg)
{
    int fd = *(const int *)arg;
    struct proc kept, orphanable;
    proc_start_keeping(&orphanable, "orphanable", announce_and_sleep, &fd,
                       PROC_FDS(fd));
    proc_start(&kept, "grandchild", sleep_forever, NULL);
    if (write(fd, &kept.pid, sizeof kept.pid) != (ssize_t)sizeof kept.pid)
        return 1;
    for (;;)
        pause();
}

static int run_with_grandchildren(void *arg)
{
    int fd = *(const int *)arg;
    watchdog_start("wdtest", 30);
    struct proc middle;
    proc_start_keeping(&middle, "middle", grandparent_middle, &fd,
                       PROC_FDS(fd));
    proc_join(&middle, -1);
    return 50;
}

START_TEST(teardown_reaps_grandchildren)
{
    become_subreaper();
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct sub sub = sub_start(run_with_grandchildren, &fds[1]);
    close(fds[1]);
    pid_t first = read_pid(fds[0], 5), second = read_pid(fds[0], 5);
    close(fds[0]);
    ck_assert_int_eq(kill(sub.pid, SIGINT), 0);
    struct sub_result *r = sub_finish(&sub, 10);
    ck_assert_msg(r->status == 130, "exit %d: %s", r->status, r->err);
    /* Right after its exit: nothing of its tree has come to us. */
    int adopted = orphans_adopted();
    ck_assert_msg(adopted == 0, "%d grandchild(ren) left to its parent",
                  adopted);
    ck_assert(!pid_exists(first));
    ck_assert(!pid_exists(second));
}
END_TEST

/* ---- SIGPIPE: a dead reader is EPIPE, never a death (D2) ------------------ */

/* After watchdog_start(): a write to a pipe nobody reads fails with EPIPE,
 * in this process and in a child it starts. */
static int write_to_dead_reader(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 20;
    close(fds[0]);
    char byte = 0;
    ssize_t written = write(fds[1], &byte, 1);
    int saved = errno;
    close(fds[1]);
    return written == -1 && saved == EPIPE ? 0 : 21;
}

static int child_writes_to_dead_reader(void *arg)
{
    (void)arg;
    return write_to_dead_reader();
}

static int epipe_here_and_in_children(void *arg)
{
    (void)arg;
    watchdog_start("wdtest", 30);
    int rc = write_to_dead_reader();
    if (rc != 0)
        return rc;
    struct proc child;
    proc_start(&child, "writer", child_writes_to_dead_reader, NULL);
    if (!proc_join(&child, -1))
        return 22;
    watchdog_stop();
    return child.exitcode == 0 ? 0 : 23;
}

START_TEST(dead_reader_is_epipe_not_sigpipe)
{
    become_subreaper();
    struct sub_result *r = run_sub(epipe_here_and_in_children, NULL, 10);
    ck_assert_msg(r->status == 0, "exit %d (-13: killed by SIGPIPE): %s",
                  r->status, r->err);
    ck_assert_int_eq(children_left(1.0), 0);
}
END_TEST

/* The D2 shape: the main thread streams to a child; Ctrl+C; the watchdog
 * kills the child; the main thread's next write must not kill the program
 * (status 141) before the watchdog has reaped and exited 130. */
static int drain_forever(void *arg)
{
    int in = *(const int *)arg;
    char buffer[4096];
    while (read(in, buffer, sizeof buffer) > 0)
        ;
    return 0;
}

static int stream_to_child(void *arg)
{
    int ready = *(const int *)arg;
    watchdog_start("wdtest", 30);
    int fds[2];
    if (pipe(fds) != 0)
        return 30;
    struct proc child;
    proc_start_keeping(&child, "drain", drain_forever, &fds[0],
                       PROC_FDS(fds[0]));
    close(fds[0]);
    char byte = 1;
    if (write(ready, &byte, 1) != 1)
        return 31;
    char block[512] = {0};
    for (;;) {
        if (write(fds[1], block, sizeof block) == -1) {
            /* The peer is gone: what a lab does then -- join it (this
             * parks while the watchdog tears the run down). */
            proc_join(&child, -1);
            return 32;
        }
    }
}

START_TEST(interrupt_while_writing_to_a_child_exits_130)
{
    become_subreaper();
    for (int round = 0; round < 3; round++) {
        int ready[2];
        ck_assert_int_eq(pipe(ready), 0);
        struct sub sub = sub_start(stream_to_child, &ready[1]);
        close(ready[1]);
        char byte;
        ck_assert_int_eq(read(ready[0], &byte, 1), 1);
        close(ready[0]);
        clock_sleep(0.02 * (round + 1));
        ck_assert_int_eq(kill(sub.pid, SIGINT), 0);
        struct sub_result *r = sub_finish(&sub, 10);
        ck_assert_msg(r->status == 130, "round %d: exit %d (-13: SIGPIPE): %s",
                      round, r->status, r->err);
        ck_assert_int_eq(children_left(1.0), 0);
    }
}
END_TEST

/* watchdog_set_on_signal (lab 09's drain): a hook that returns true keeps
 * the run going, --timeout still armed; one that returns false lets the
 * watchdog end the run as usual (128 + N). */
static atomic_int hooked;
static bool drain_first(void *arg, int signal_number)
{
    (void)arg;
    if (signal_number != SIGTERM)
        return false;
    return atomic_fetch_add(&hooked, 1) == 0;
}

static int hook_main(void *unused)
{
    (void)unused;
    watchdog_start("wdtest", 30);
    watchdog_set_on_signal(drain_first, NULL);
    kill(getpid(), SIGTERM);
    double until = clock_seconds() + 5;
    while (atomic_load(&hooked) == 0 && clock_seconds() < until)
        clock_sleep(0.001);
    SUB_EXPECT(atomic_load(&hooked) == 1, 1);
    clock_sleep(0.05); /* still running: the first signal was handled */
    fprintf(stderr, "survived the first SIGTERM\n");
    kill(getpid(), SIGTERM);
    clock_sleep(5);    /* the second one ends the run before this does */
    return 2;
}

START_TEST(signal_hook_handles_the_first_signal)
{
    struct sub_result *r = run_sub(hook_main, NULL, 10);
    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == 128 + SIGTERM, "exit %d: %s", r->status, r->err);
    ck_assert_msg(strstr(r->err, "survived the first SIGTERM\nwdtest: interrupted by TERM") != NULL,
                  "%s", r->err);
}
END_TEST

Suite *watchdog_suite(void)
{
    Suite *suite = suite_create("watchdog");
    TCase *deadline = tcase_create("watchdog_deadline");
    tcase_add_checked_fixture(deadline, default_signals, NULL);
    tcase_set_timeout(deadline, 10);
    tcase_add_test(deadline, run_finishes_before_deadline);
    tcase_add_test(deadline, stopped_watchdog_never_fires);
    tcase_add_test(deadline, fork_right_after_start_never_hangs);
    tcase_add_test(deadline, deadline_kills_children_exit_3);
    tcase_add_test(deadline, deadline_calls_diagnosis);
    tcase_add_test(deadline, deadline_without_children);
    tcase_add_test(deadline, registry_shared_with_watchdog_thread);
    suite_add_tcase(suite, deadline);

    TCase *stall = tcase_create("watchdog_stall");
    tcase_add_checked_fixture(stall, default_signals, NULL);
    tcase_set_timeout(stall, 10);
    tcase_add_test(stall, stall_fires_when_blocked_without_progress);
    tcase_add_test(stall, progress_restarts_the_stall_clock);
    tcase_add_test(stall, party_not_blocked_is_not_a_stall);
    tcase_add_test(stall, deadline_still_bounds_with_stall_armed);
    suite_add_tcase(suite, stall);

    TCase *signals = tcase_create("watchdog_signals");
    tcase_add_checked_fixture(signals, default_signals, NULL);
    tcase_set_timeout(signals, 10);
    tcase_add_test(signals, sigint_exit_130);
    tcase_add_test(signals, ctrl_c_to_process_group);
    tcase_add_test(signals, sigterm_exit_143);
    tcase_add_test(signals, sighup_exit_129);
    tcase_add_test(signals, signal_hook_handles_the_first_signal);
    tcase_add_test(signals, dead_reader_is_epipe_not_sigpipe);
    tcase_add_test(signals, teardown_reaps_grandchildren);
    tcase_add_test(signals, interrupt_while_writing_to_a_child_exits_130);
    suite_add_tcase(suite, signals);
    return suite;
}
