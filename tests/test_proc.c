/* test_proc.c: processes, the registry of children, and die_at/CHECK
 * (common/proc.h, common/checked.h).
 *
 * Code that exits (die_at, CHECK, proc_kill_all_and_reap's caller) runs in a
 * sub-child forked here; "leaves nothing behind" is checked by making the
 * test process a subreaper, so an orphan would be re-parented to it and
 * counted by children_left().
 *
 * Every test case resets SIGINT and SIGTERM to their default action first:
 * the test process inherits Check's runner handlers for them, and a child
 * that inherited those in turn would killpg() the whole test on SIGTERM.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "checked.h"
#include "cleanup.h"
#include "log.h"
#include "pool.h"
#include "proc.h"
#include "timing.h"
#include "workers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Child bodies ------------------------------------------------------------- */

static int exit_with(void *arg) { return *(const int *)arg; }

static int sleep_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

/* A child that would outlive its parent: it drops PR_SET_PDEATHSIG, so only
 * an explicit kill (the registry's) can end it.  This is what lets a test
 * tell "the code killed its children" from "the kernel did".  It then
 * announces its pid on the pipe whose write end `arg` points to. */
static int sleep_forever_orphanable(void *arg)
{
    prctl(PR_SET_PDEATHSIG, 0);
    pid_t self = getpid();
    if (write(*(const int *)arg, &self, sizeof self) != (ssize_t)sizeof self)
        return 1;
    for (;;)
        pause();
    return 0;
}

static int kill_self(void *arg)
{
    (void)arg;
    raise(SIGKILL);
    return 0;
}

static int segfault(void *arg)
{
    (void)arg;
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(SIGSEGV, SIG_DFL); /* not a sanitizer's report-and-exit handler */
    raise(SIGSEGV);
    return 0;
}

static int exit_after_100ms(void *arg)
{
    (void)arg;
    clock_sleep(0.1);
    return 3;
}

/* ---- Exit codes, join, signals -------------------------------------------------- */

START_TEST(exit_codes)
{
    static const int statuses[] = {0, 7, 255};
    for (int i = 0; i < 3; i++) {
        struct proc child;
        proc_start(&child, "exiter", exit_with, (void *)&statuses[i]);
        ck_assert_int_gt(child.pid, 0);
        ck_assert_int_ne(child.pid, getpid());
        ck_assert(!child.joined);
        ck_assert(proc_join(&child, 5.0 * time_scale()));
        ck_assert(child.joined);
        ck_assert_int_eq(child.exitcode, statuses[i]);
    }
    struct proc killed, crashed;
    proc_start(&killed, "killer", kill_self, NULL);
    proc_start(&crashed, "crasher", segfault, NULL);
    ck_assert(proc_join(&killed, 5.0 * time_scale()));
    ck_assert(proc_join(&crashed, 5.0 * time_scale()));
    ck_assert_int_eq(killed.exitcode, -SIGKILL);
    ck_assert_int_eq(crashed.exitcode, -SIGSEGV);
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(join_timeout_then_terminate)
{
    struct proc child;
    proc_start(&child, "sleeper", sleep_forever, NULL);
    ck_assert(proc_is_alive(&child));

    double start = clock_seconds();
    ck_assert(!proc_join(&child, 0.2));
    double waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.15 && waited < 2.0 * time_scale(),
                  "a 0.2 s join returned after %.3f s", waited);
    ck_assert(!child.joined);
    ck_assert(proc_is_alive(&child));
    /* A zero timeout only looks. */
    start = clock_seconds();
    ck_assert(!proc_join(&child, 0));
    ck_assert_double_lt(clock_seconds() - start, 0.5 * time_scale());
    ck_assert_int_eq(proc_active_count(), 1);

    proc_signal(&child, SIGTERM);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert(child.joined);
    ck_assert_int_eq(child.exitcode, -SIGTERM);
    ck_assert(!proc_is_alive(&child));
    ck_assert_int_eq(proc_active_count(), 0);
    /* Joined: joining again answers at once, signalling does nothing. */
    ck_assert(proc_join(&child, 0));
    ck_assert(proc_join(&child, -1));
    proc_signal(&child, SIGKILL);
    ck_assert_int_eq(child.exitcode, -SIGTERM);
}
END_TEST

START_TEST(join_blocking)
{
    struct proc child;
    double start = clock_seconds();
    proc_start(&child, "short", exit_after_100ms, NULL);
    ck_assert(proc_join(&child, -1));
    ck_assert_double_ge(clock_seconds() - start, 0.1 - 1e-6);
    ck_assert_int_eq(child.exitcode, 3);
    /* A generous timeout returns as soon as the child ends. */
    start = clock_seconds();
    proc_start(&child, "short", exit_after_100ms, NULL);
    ck_assert(proc_join(&child, 30.0));
    ck_assert_double_lt(clock_seconds() - start, 5.0 * time_scale());
    ck_assert_int_eq(child.exitcode, 3);
}
END_TEST

START_TEST(is_alive_before_and_after)
{
    struct proc never_started;
    memset(&never_started, 0, sizeof never_started);
    ck_assert(!proc_is_alive(&never_started));
    proc_signal(&never_started, SIGKILL); /* pid 0: must not signal our group */

    struct proc child;
    proc_start(&child, "sleeper", sleep_forever, NULL);
    ck_assert(proc_is_alive(&child));
    ck_assert(proc_is_alive(&child)); /* looking does not reap */
    proc_signal(&child, SIGKILL);
    double deadline = clock_seconds() + 2.0 * time_scale();
    while (proc_is_alive(&child) && clock_seconds() < deadline)
        clock_sleep(0.002);
    ck_assert(!proc_is_alive(&child));
    /* Ended but not joined: still registered, still reapable. */
    ck_assert(!child.joined);
    ck_assert_int_eq(proc_active_count(), 1);
    ck_assert(proc_join(&child, 0));
    ck_assert_int_eq(child.exitcode, -SIGKILL);
    ck_assert(!proc_is_alive(&child));
    ck_assert_int_eq(proc_active_count(), 0);
}
END_TEST

START_TEST(sigint_blocked_others_default_in_child)
{
    /* Block what a watchdog blocks, as a lab's main thread would: children
     * must get SIGTERM and SIGHUP back, and keep SIGINT blocked. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &mask, NULL), 0);

    struct proc child;
    proc_start(&child, "sleeper", sleep_forever, NULL);
    proc_signal(&child, SIGINT);
    ck_assert_msg(!proc_join(&child, 0.3), "SIGINT ended the child (%d)",
                  child.exitcode);
    proc_signal(&child, SIGTERM);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_int_eq(child.exitcode, -SIGTERM);

    proc_start(&child, "sleeper", sleep_forever, NULL);
    proc_signal(&child, SIGHUP);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_int_eq(child.exitcode, -SIGHUP);
}
END_TEST

/* proc.h: SIGTERM is back to its default action in a child.  A disposition
 * set by the parent (ignored, or a handler) is inherited through fork(); if
 * the child kept SIG_IGN, proc_signal(SIGTERM) -- Python's terminate() --
 * would do nothing. */
START_TEST(child_gets_default_sigterm_even_if_parent_ignores_it)
{
    signal(SIGTERM, SIG_IGN);
    struct proc child;
    proc_start(&child, "sleeper", sleep_forever, NULL);
    proc_signal(&child, SIGTERM);
    bool ended = proc_join(&child, 1.0 * time_scale());
    if (!ended) {
        proc_signal(&child, SIGKILL);
        proc_join(&child, -1);
    }
    ck_assert_msg(ended, "the child inherited SIG_IGN for SIGTERM: "
                         "proc_signal(SIGTERM) did not end it");
    ck_assert_int_eq(child.exitcode, -SIGTERM);
}
END_TEST

/* ---- Registry, names, counts ------------------------------------------------------ */

START_TEST(active_count_and_list)
{
    ck_assert_int_eq(proc_active_count(), 0);
    struct proc children[3];
    for (int i = 0; i < 3; i++)
        proc_start(&children[i], "sleeper", sleep_forever, NULL);
    ck_assert_int_eq(proc_active_count(), 3);
    pid_t pids[8];
    ck_assert_int_eq(proc_list_active(pids, 8), 3);
    for (int i = 0; i < 3; i++) {
        int found = 0;
        for (int j = 0; j < 3; j++)
            found += pids[j] == children[i].pid;
        ck_assert_msg(found == 1, "pid %d listed %d times", children[i].pid,
                      found);
    }
    /* A small buffer gets what fits, and the true count. */
    pid_t one[1] = {0};
    ck_assert_int_eq(proc_list_active(one, 1), 3);
    ck_assert_int_ne(one[0], 0);

    proc_signal(&children[1], SIGKILL);
    ck_assert(proc_join(&children[1], 5.0 * time_scale()));
    ck_assert_int_eq(proc_active_count(), 2);
    ck_assert_int_eq(proc_list_active(pids, 8), 2);
    for (int j = 0; j < 2; j++)
        ck_assert_int_ne(pids[j], children[1].pid);

    proc_signal(&children[0], SIGKILL);
    proc_signal(&children[2], SIGKILL);
    ck_assert(proc_join(&children[0], 5.0 * time_scale()));
    ck_assert(proc_join(&children[2], 5.0 * time_scale()));
    ck_assert_int_eq(proc_active_count(), 0);
    ck_assert_int_eq(proc_list_active(pids, 8), 0);
}
END_TEST

static int check_own_name(void *arg)
{
    return strcmp(log_name(), (const char *)arg) == 0 ? 0 : 1;
}

START_TEST(child_name)
{
    struct proc child;
    proc_start(&child, "a-very-long-process-name", check_own_name,
               (void *)"a-very-long-pro");
    ck_assert_str_eq(child.name, "a-very-long-pro");
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_msg(child.exitcode == 0, "the child's kernel name is not its "
                                       "proc name");
}
END_TEST

static int print_and_exit(void *arg)
{
    (void)arg;
    printf("child\n");
    return 0;
}

START_TEST(buffered_output_not_duplicated)
{
    int out = memory_file("stdout");
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(out, STDOUT_FILENO);
    /* stdout is a file now: fully buffered, so this stays in the buffer
     * unless proc_start flushes it before fork(). */
    printf("parent-before ");
    struct proc child;
    proc_start(&child, "printer", print_and_exit, NULL);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    printf("parent-after\n");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char text[256];
    read_all(out, text, sizeof text);
    ck_assert_str_eq(text, "parent-before child\nparent-after\n");
}
END_TEST

START_TEST(cpu_count)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int allowed = CPU_COUNT(&set);
    ck_assert_int_ge(proc_cpu_count(), 1);
    ck_assert_int_eq(proc_cpu_count(), allowed);
    /* It follows the affinity mask, not the machine's CPU count. */
    int first = 0;
    while (!CPU_ISSET(first, &set))
        first++;
    cpu_set_t single;
    CPU_ZERO(&single);
    CPU_SET(first, &single);
    ck_assert_int_eq(sched_setaffinity(0, sizeof single, &single), 0);
    ck_assert_int_eq(proc_cpu_count(), 1);
    ck_assert_int_eq(sched_setaffinity(0, sizeof set, &set), 0);
}
END_TEST

START_TEST(describe_exitcode)
{
    char buffer[64];
    ck_assert_ptr_eq(proc_describe_exitcode(0, buffer, sizeof buffer), buffer);
    ck_assert_str_eq(buffer, "exited with status 0");
    ck_assert_str_eq(proc_describe_exitcode(7, buffer, sizeof buffer),
                     "exited with status 7");
    char expected[64];
    snprintf(expected, sizeof expected, "killed by signal 9 (%s)",
             strsignal(SIGKILL));
    ck_assert_str_eq(proc_describe_exitcode(-9, buffer, sizeof buffer),
                     expected);
    ck_assert_str_eq(buffer, "killed by signal 9 (Killed)");
    ck_assert_str_eq(proc_describe_exitcode(-15, buffer, sizeof buffer),
                     "killed by signal 15 (Terminated)");
    ck_assert_str_eq(proc_describe_exitcode(-11, buffer, sizeof buffer),
                     "killed by signal 11 (Segmentation fault)");
    /* A short buffer is truncated, never overrun. */
    char small[12];
    memset(small, 'Z', sizeof small);
    proc_describe_exitcode(-9, small, 10);
    ck_assert_str_eq(small, "killed by");
    ck_assert_int_eq(small[10], 'Z');
}
END_TEST

/* ---- Children of children ----------------------------------------------------------- */

/* Runs in a child that inherited a registry listing its sibling. */
static int start_grandchild(void *arg)
{
    (void)arg;
    /* The inherited copy (the sibling, and a mutex locked across fork())
     * must not be ours: empty, and usable. */
    if (proc_active_count() != 0)
        return 21;
    pid_t pids[4];
    if (proc_list_active(pids, 4) != 0)
        return 22;
    struct proc grandchild;
    static const int five = 5;
    proc_start(&grandchild, "grandchild", exit_with, (void *)&five);
    if (proc_active_count() != 1)
        return 23;
    if (!proc_join(&grandchild, 5.0 * time_scale()))
        return 24;
    if (proc_active_count() != 0)
        return 25;
    return 10 + grandchild.exitcode;
}

START_TEST(grandchild)
{
    struct proc sibling, child;
    proc_start(&sibling, "sibling", sleep_forever, NULL);
    proc_start(&child, "middle", start_grandchild, NULL);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_msg(child.exitcode == 15, "child exited %d (21-25: a step in "
                  "start_grandchild failed)", child.exitcode);
    ck_assert(proc_is_alive(&sibling));
    proc_signal(&sibling, SIGKILL);
    ck_assert(proc_join(&sibling, 5.0 * time_scale()));
}
END_TEST

static int kill_all_in_child(void *arg)
{
    (void)arg;
    /* "a child with no children of its own": the inherited list of
     * siblings must not be killed. */
    return proc_kill_all_and_reap(0.2);
}

static int die_in_child(void *arg)
{
    (void)arg;
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
    die_at("child.c", 1, "testing", EINVAL);
}

START_TEST(child_cleanup_spares_siblings)
{
    struct proc sibling, child;
    proc_start(&sibling, "sibling", sleep_forever, NULL);
    proc_start(&child, "killall", kill_all_in_child, NULL);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_int_eq(child.exitcode, 0);
    ck_assert(proc_is_alive(&sibling));
    proc_start(&child, "dier", die_in_child, NULL);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    ck_assert_int_eq(child.exitcode, EXIT_SYSTEM);
    ck_assert(proc_is_alive(&sibling));
    /* A child from a plain fork() (not proc_start) inherits the registry
     * unlocked, still listing the sibling: its cleanup must spare it too. */
    struct sub_result *r = run_sub(kill_all_in_child, NULL, 5);
    ck_assert_msg(r->status == 0, "a forked child killed %d of its parent's "
                  "children", r->status);
    r = run_sub(die_in_child, NULL, 5);
    ck_assert_int_eq(r->status, EXIT_SYSTEM);
    ck_assert(proc_is_alive(&sibling));
    proc_signal(&sibling, SIGKILL);
    ck_assert(proc_join(&sibling, 5.0 * time_scale()));
    ck_assert_int_eq(sibling.exitcode, -SIGKILL);
}
END_TEST

/* ---- Leaving nothing behind ---------------------------------------------------------- */

static int kill_all_and_check(void *arg)
{
    (void)arg;
    int announced[2];
    SUB_EXPECT(pipe(announced) == 0, 30);
    struct proc children[3];
    for (int i = 0; i < 3; i++)
        proc_start_keeping(&children[i], "orphanable",
                           sleep_forever_orphanable, &announced[1],
                           PROC_FDS(announced[1]));
    for (int i = 0; i < 3; i++) { /* every one has dropped PDEATHSIG */
        pid_t pid;
        SUB_EXPECT(read(announced[0], &pid, sizeof pid) == (ssize_t)sizeof pid,
                   30);
    }
    double start = clock_seconds();
    int killed = proc_kill_all_and_reap(1.0);
    double took = clock_seconds() - start;
    SUB_EXPECT(killed == 3, 31);
    SUB_EXPECT(took < 1.5 * time_scale(), 32);
    for (int i = 0; i < 3; i++) {
        /* Reaped: no longer our child, and gone from the system. */
        SUB_EXPECT(waitpid(children[i].pid, NULL, WNOHANG) == -1 &&
                       errno == ECHILD,
                   33);
        SUB_EXPECT(!pid_exists(children[i].pid), 34);
    }
    /* No child of any kind left. */
    SUB_EXPECT(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, 35);
    return 0;
}

START_TEST(kill_all_and_reap)
{
    become_subreaper();
    struct sub_result *r = run_sub(kill_all_and_check, NULL, 10);
    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == 0, "sub-child exit %d: %s", r->status, r->err);
    ck_assert_int_eq(children_left(1.0), 0);
}
END_TEST

struct pipe_arg {
    int fds[2];
    int ready[2]; /* die_with_children: EOF = go on */
};

static int parent_of_sleeper(void *arg)
{
    struct pipe_arg *pipe_arg = arg;
    close(pipe_arg->fds[0]);
    struct proc child;
    proc_start(&child, "sleeper", sleep_forever, NULL);
    if (write(pipe_arg->fds[1], &child.pid, sizeof child.pid) !=
        (ssize_t)sizeof child.pid)
        return 41;
    for (;;)
        pause(); /* until the test SIGKILLs us */
    return 0;
}

START_TEST(parent_sigkilled_takes_children)
{
    become_subreaper();
    struct pipe_arg pipe_arg;
    ck_assert_int_eq(pipe(pipe_arg.fds), 0);
    struct sub sub = sub_start(parent_of_sleeper, &pipe_arg);
    close(pipe_arg.fds[1]);
    pid_t grandchild = read_pid(pipe_arg.fds[0], 5);
    close(pipe_arg.fds[0]);
    ck_assert_int_gt(grandchild, 0);
    ck_assert(pid_exists(grandchild));

    ck_assert_int_eq(kill(sub.pid, SIGKILL), 0);
    struct sub_result *r = sub_finish(&sub, 5);
    ck_assert_int_eq(r->status, -SIGKILL);
    /* The kernel killed the grandchild (PR_SET_PDEATHSIG); it was
     * re-parented to us and reaped here.  Without it, it would sleep on. */
    ck_assert_int_eq(children_left(1.0 * time_scale()), 0);
    ck_assert(!pid_exists(grandchild));
}
END_TEST

/* ---- die_at and the CHECK macros ---------------------------------------------------------- */

static int die_with_children(void *arg)
{
    struct pipe_arg *pipe_arg = arg;
    close(pipe_arg->fds[0]);
    close(pipe_arg->ready[1]);
    struct proc children[2];
    /* They announce themselves to the test once PDEATHSIG is dropped. */
    for (int i = 0; i < 2; i++)
        proc_start_keeping(&children[i], "orphanable",
                           sleep_forever_orphanable, &pipe_arg->fds[1],
                           PROC_FDS(pipe_arg->fds[1]));
    /* Die only once both have announced (the test closes its end then). */
    char byte;
    if (read(pipe_arg->ready[0], &byte, 1) != 0)
        return 51;
    printf("narration without a newline"); /* still buffered */
    die_at("labfile.c", 123, "open(\"/nope\")", ENOENT);
}

START_TEST(die_at_reports_and_kills_children)
{
    become_subreaper();
    struct pipe_arg pipe_arg;
    ck_assert_int_eq(pipe(pipe_arg.fds), 0);
    ck_assert_int_eq(pipe(pipe_arg.ready), 0);
    struct sub sub = sub_start(die_with_children, &pipe_arg);
    close(pipe_arg.fds[1]);
    close(pipe_arg.ready[0]);
    pid_t first = read_pid(pipe_arg.fds[0], 5);
    pid_t second = read_pid(pipe_arg.fds[0], 5);
    close(pipe_arg.fds[0]);
    close(pipe_arg.ready[1]); /* both are orphanable now: die_at, go */
    struct sub_result *r = sub_finish(&sub, 10);
    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == EXIT_SYSTEM, "exit %d: %s", r->status, r->err);
    ck_assert_str_eq(r->err,
                     "labfile.c:123: open(\"/nope\"): No such file or directory\n");
    ck_assert_str_eq(r->out, "narration without a newline");
    /* The children were killed by die_at (they had dropped PDEATHSIG). */
    ck_assert_int_eq(children_left(1.0), 0);
    ck_assert(!pid_exists(first));
    ck_assert(!pid_exists(second));
}
END_TEST

/* Print the line number, then run the statement: both on one source line,
 * so the parent knows which line die_at must name. */
#define AT_THIS_LINE(statement)                                                \
    do {                                                                       \
        printf("%d", __LINE__);                                                \
        fflush(stdout);                                                        \
        statement;                                                             \
    } while (0)

static int check_errno_child(void *arg)
{
    (void)arg;
    AT_THIS_LINE(CHECK(open("/nonexistent-dir/file", O_RDONLY)));
    return 0;
}

static int check_pt_child(void *arg)
{
    (void)arg;
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mutex);
    /* pthread functions return their error (EBUSY here) and leave errno
     * alone: a CHECK_PT that reported errno would say "Success". */
    errno = 0;
    AT_THIS_LINE(CHECK_PT(pthread_mutex_trylock(&mutex)));
    return 0;
}

static int check_ptr_child(void *arg)
{
    (void)arg;
    AT_THIS_LINE(CHECK_PTR(fopen("/nonexistent-dir/file", "r"), NULL));
    return 0;
}

static void expect_check_failure(int (*fn)(void *), const char *call,
                                 int code)
{
    struct sub_result *r = run_sub(fn, NULL, 5);
    ck_assert_msg(r->status == EXIT_SYSTEM, "exit %d: %s", r->status, r->err);
    int line = atoi(r->out);
    ck_assert_int_gt(line, 0);
    char expected[512];
    snprintf(expected, sizeof expected, "%s:%d: %s: %s\n", __FILE__, line, call,
             strerror(code));
    ck_assert_str_eq(r->err, expected);
}

START_TEST(check_macros_report_and_exit_4)
{
    expect_check_failure(check_errno_child,
                         "open(\"/nonexistent-dir/file\", O_RDONLY)", ENOENT);
    expect_check_failure(check_pt_child, "pthread_mutex_trylock(&mutex)", EBUSY);
    expect_check_failure(check_ptr_child,
                         "fopen(\"/nonexistent-dir/file\", \"r\")", ENOENT);
}
END_TEST

START_TEST(check_macros_pass_results_through)
{
    int fd = CHECK(dup(STDERR_FILENO));
    ck_assert_int_gt(fd, STDERR_FILENO);
    ck_assert_int_eq(CHECK(close(fd)), 0);
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    CHECK_PT(pthread_mutex_lock(&mutex));
    CHECK_PT(pthread_mutex_unlock(&mutex));
    FILE *file = CHECK_PTR(fopen("/dev/null", "r"), NULL);
    ck_assert_ptr_nonnull(file);
    fclose(file);
    unsigned char *zeros = xcalloc(1000, 8);
    for (int i = 0; i < 8000; i++)
        ck_assert_int_eq(zeros[i], 0);
    free(zeros);
    /* Never NULL, even for nothing. */
    void *nothing = xcalloc(0, 0), *none = xcalloc(0, 4);
    ck_assert_ptr_nonnull(nothing);
    ck_assert_ptr_nonnull(none);
    free(nothing);
    free(none);
}
END_TEST

/* ---- Descriptors: a child holds only what it was meant to (D1) ------------- */

/* In the process that calls it: how many descriptors it holds besides 0, 1,
 * 2 and `allowed`, listed in `list` ("5 7 9").  The directory stream's own
 * descriptor is not counted. */
static int unexpected_fds(const int *allowed, int allowed_count, char *list,
                          size_t size)
{
    DIR *directory = opendir("/proc/self/fd");
    if (directory == NULL)
        return 100;
    int own = dirfd(directory), count = 0;
    size_t used = 0;
    list[0] = '\0';
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        int fd = atoi(entry->d_name);
        bool fine = fd <= 2 || fd == own;
        for (int i = 0; i < allowed_count; i++)
            fine |= fd == allowed[i];
        if (fine)
            continue;
        count++;
        if (used + 12 < size)
            used += (size_t)snprintf(list + used, size - used, "%s%d",
                                     used ? " " : "", fd);
    }
    closedir(directory);
    return count;
}

/* Descriptors a careless fork() would hand on: a plain pipe, one with
 * close-on-exec (no help without exec), an eventfd. */
struct strays {
    int plain[2], cloexec[2], event;
};

static void strays_open(struct strays *s)
{
    ck_assert_int_eq(pipe(s->plain), 0);
    ck_assert_int_eq(pipe2(s->cloexec, O_CLOEXEC), 0);
    s->event = eventfd(0, EFD_CLOEXEC);
    ck_assert_int_ge(s->event, 0);
}

static void strays_close(struct strays *s)
{
    close(s->plain[0]);
    close(s->plain[1]);
    close(s->cloexec[0]);
    close(s->cloexec[1]);
    close(s->event);
}

/* A child body: exit status = how many unexpected descriptors it holds. */
static int count_unexpected(void *arg)
{
    (void)arg;
    char list[256];
    int count = unexpected_fds(NULL, 0, list, sizeof list);
    if (count > 0)
        fprintf(stderr, "child holds unexpected descriptors: %s\n", list);
    return count;
}

START_TEST(proc_start_child_holds_only_stdio)
{
    struct strays strays;
    strays_open(&strays);
    struct proc child;
    proc_start(&child, "fds", count_unexpected, NULL);
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    strays_close(&strays);
    ck_assert_msg(child.exitcode == 0,
                  "the child held %d descriptor(s) besides 0, 1, 2",
                  child.exitcode);
}
END_TEST

/* It keeps exactly the declared one, and can use it. */
static int use_kept(void *arg)
{
    int kept = *(const int *)arg;
    char list[256];
    int count = unexpected_fds(&kept, 1, list, sizeof list);
    if (count > 0)
        fprintf(stderr, "child holds unexpected descriptors: %s\n", list);
    char byte = 'k';
    if (write(kept, &byte, 1) != 1)
        return 99;
    return count;
}

START_TEST(proc_start_keeping_child_holds_stdio_and_the_kept)
{
    struct strays strays;
    strays_open(&strays);
    int kept[2];
    ck_assert_int_eq(pipe(kept), 0);
    struct proc child;
    proc_start_keeping(&child, "fds", use_kept, &kept[1], PROC_FDS(kept[1], -1));
    close(kept[1]);
    char byte = 0;
    ck_assert_int_eq(read(kept[0], &byte, 1), 1); /* it wrote on the kept end */
    ck_assert_int_eq(byte, 'k');
    ck_assert(proc_join(&child, 5.0 * time_scale()));
    close(kept[0]);
    strays_close(&strays);
    ck_assert_msg(child.exitcode == 0, "child exit code %d", child.exitcode);
}
END_TEST

/* workers.h: a process worker's result is its unexpected descriptors. */
static int worker_counts_fds(struct worker *self)
{
    char list[256];
    self->result = (uint64_t)unexpected_fds(NULL, 0, list, sizeof list);
    if (self->result > 0)
        fprintf(stderr, "%s holds unexpected descriptors: %s\n", self->name,
                list);
    return 0;
}

START_TEST(workers_processes_hold_only_stdio)
{
    struct strays strays;
    strays_open(&strays);
    struct worker_run run = workers_run(RUN_PROCESSES, 3, worker_counts_fds,
                                        NULL, NULL);
    strays_close(&strays);
    ck_assert_int_eq(run.failed, 0);
    for (int i = 0; i < run.count; i++)
        ck_assert_msg(run.workers[i].result == 0,
                      "worker %d held %d unexpected descriptor(s)", i,
                      (int)run.workers[i].result);
    worker_run_release(&run);
}
END_TEST

/* pool.h: a task reports its worker's unexpected descriptors. */
static int task_counts_fds(const union pool_value *argument,
                           union pool_value *result, char *error)
{
    (void)argument;
    (void)error;
    char list[256];
    result->numbers[0] = unexpected_fds(NULL, 0, list, sizeof list);
    if (result->numbers[0] > 0)
        fprintf(stderr, "pool worker holds unexpected descriptors: %s\n", list);
    return 0;
}

static void expect_clean_worker(struct pool *pool, int *worker_number)
{
    struct pool_result result;
    ck_assert_int_eq(pool_apply(pool, task_counts_fds, &(union pool_value){{0}},
                                &result),
                     POOL_OK);
    ck_assert_msg(result.value.numbers[0] == 0,
                  "pool-worker-%d held %d unexpected descriptor(s)",
                  result.worker_number, (int)result.value.numbers[0]);
    *worker_number = result.worker_number;
}

/* The first workers, and a replacement forked later -- while the parent
 * holds descriptors opened after the pool started (the D1 hang: a
 * replacement forked during a ping-pong held the pong pipe). */
START_TEST(pool_workers_and_replacements_hold_only_stdio)
{
    struct strays before;
    strays_open(&before);
    struct pool *pool = pool_create(&(struct pool_options){.workers = 1});
    int number = 0;
    expect_clean_worker(pool, &number);
    ck_assert_int_eq(number, 1);

    struct strays later;
    strays_open(&later);
    pid_t pid = 0;
    ck_assert_int_eq(pool_worker_pids(pool, &pid, 1), 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    double deadline = clock_seconds() + 5.0 * time_scale();
    while (pool_stats(pool).workers_started < 2 && clock_seconds() < deadline)
        clock_sleep(0.001);
    ck_assert_int_eq((int)pool_stats(pool).workers_started, 2);
    expect_clean_worker(pool, &number);
    ck_assert_int_eq(number, 2); /* the replacement ran it */
    pool_close(pool);
    ck_assert_int_eq(pool_join(pool, 5.0 * time_scale()), POOL_OK);
    pool_destroy(pool);
    strays_close(&later);
    strays_close(&before);
}
END_TEST

/* ---- Cleanup needs no new descriptor (D6) ---------------------------------- */

/* A private directory with files in it, then every descriptor used up
 * (EMFILE), then the way out: die_at (arg != NULL) or exit(). */
static int tempdir_then_emfile(void *arg)
{
    char path[4096];
    cleanup_tempdir("rt-test", path, sizeof path);
    for (int i = 0; i < 3; i++) {
        char file[4200];
        snprintf(file, sizeof file, "%s/file-%d", path, i);
        int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        SUB_EXPECT(fd >= 0, 40);
        close(fd);
    }
    struct rlimit few = {.rlim_cur = 64, .rlim_max = 64};
    SUB_EXPECT(setrlimit(RLIMIT_NOFILE, &few) == 0, 41);
    while (open("/dev/null", O_RDONLY) >= 0)
        ;
    SUB_EXPECT(errno == EMFILE, 42);
    if (arg != NULL)
        die_at("labfile.c", 7, "open(\"db\")", EMFILE);
    exit(0);
}

/* How many entries `directory` holds, "." and ".." aside. */
static int entries_in(const char *directory)
{
    DIR *d = opendir(directory);
    ck_assert_ptr_nonnull(d);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(d);
    return count;
}

/* The caller's buffer is a local array, gone (and overwritten) by the time
 * the program exits: the removal must not depend on it (lab 03 did this). */
static __attribute__((noinline)) void make_tempdir_in_a_local_buffer(void)
{
    char directory[256];
    cleanup_tempdir("rt-local", directory, sizeof directory);
    char file[300];
    snprintf(file, sizeof file, "%s/data", directory);
    close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

static __attribute__((noinline)) void scribble_on_the_stack(void)
{
    volatile char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 'z';
}

static int tempdir_from_a_local_buffer(void *arg)
{
    (void)arg;
    make_tempdir_in_a_local_buffer();
    scribble_on_the_stack();
    exit(0);
}

START_TEST(tempdir_removed_when_its_path_buffer_is_gone)
{
    char base[256];
    snprintf(base, sizeof base, "%s/rt-cleanup-XXXXXX", temp_base());
    ck_assert_ptr_nonnull(mkdtemp(base));
    ck_assert_int_eq(setenv("TMPDIR", base, 1), 0);
    struct sub_result *r = run_sub(tempdir_from_a_local_buffer, NULL, 10);
    unsetenv("TMPDIR");
    int left = entries_in(base);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf %s", base);
    ck_assert_int_eq(system(rm), 0);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->err);
    ck_assert_msg(left == 0, "the private directory was left behind: %s",
                  r->err);
}
END_TEST

START_TEST(tempdir_removed_with_no_descriptor_left)
{
    char base[256];
    snprintf(base, sizeof base, "%s/rt-cleanup-XXXXXX", temp_base());
    ck_assert_ptr_nonnull(mkdtemp(base));
    ck_assert_int_eq(setenv("TMPDIR", base, 1), 0);
    for (int how = 0; how < 2; how++) {
        struct sub_result *r =
            run_sub(tempdir_then_emfile, how ? (void *)base : NULL, 10);
        ck_assert_msg(r->status == (how ? EXIT_SYSTEM : 0), "exit %d: %s",
                      r->status, r->err);
        ck_assert_msg(entries_in(base) == 0,
                      "%s: the private directory was left behind (%s)", base,
                      how ? "die_at" : "exit");
        ck_assert_ptr_null(strstr(r->err, "could not remove"));
    }
    unsetenv("TMPDIR");
    ck_assert_int_eq(rmdir(base), 0);
}
END_TEST

Suite *proc_suite(void)
{
    Suite *suite = suite_create("proc");

    TCase *basics = tcase_create("proc_basics");
    tcase_add_checked_fixture(basics, default_signals, NULL);
    tcase_set_timeout(basics, 10);
    tcase_add_test(basics, exit_codes);
    tcase_add_test(basics, join_timeout_then_terminate);
    tcase_add_test(basics, join_blocking);
    tcase_add_test(basics, is_alive_before_and_after);
    tcase_add_test(basics, sigint_blocked_others_default_in_child);
    tcase_add_test(basics, active_count_and_list);
    tcase_add_test(basics, child_name);
    tcase_add_test(basics, buffered_output_not_duplicated);
    tcase_add_test(basics, cpu_count);
    tcase_add_test(basics, describe_exitcode);
    tcase_add_test(basics, grandchild);
    tcase_add_test(basics, child_cleanup_spares_siblings);
    tcase_add_test(basics, child_gets_default_sigterm_even_if_parent_ignores_it);
    suite_add_tcase(suite, basics);

    TCase *cleanup = tcase_create("proc_cleanup");
    tcase_add_checked_fixture(cleanup, default_signals, NULL);
    tcase_set_timeout(cleanup, 10);
    tcase_add_test(cleanup, kill_all_and_reap);
    tcase_add_test(cleanup, parent_sigkilled_takes_children);
    tcase_add_test(cleanup, die_at_reports_and_kills_children);
    tcase_add_test(cleanup, check_macros_report_and_exit_4);
    tcase_add_test(cleanup, check_macros_pass_results_through);
    tcase_add_test(cleanup, tempdir_removed_with_no_descriptor_left);
    tcase_add_test(cleanup, tempdir_removed_when_its_path_buffer_is_gone);
    suite_add_tcase(suite, cleanup);

    TCase *descriptors = tcase_create("proc_descriptors");
    tcase_add_checked_fixture(descriptors, default_signals, NULL);
    tcase_set_timeout(descriptors, 10);
    tcase_add_test(descriptors, proc_start_child_holds_only_stdio);
    tcase_add_test(descriptors, proc_start_keeping_child_holds_stdio_and_the_kept);
    tcase_add_test(descriptors, workers_processes_hold_only_stdio);
    tcase_add_test(descriptors, pool_workers_and_replacements_hold_only_stdio);
    suite_add_tcase(suite, descriptors);
    return suite;
}
