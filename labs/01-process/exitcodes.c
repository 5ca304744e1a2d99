/* exitcodes.c: every way a child can end, and the exit code Python reports
 * for it (E2) -- each from a real child's wait status.
 *
 * The kernel hands the parent a wait status: either "exited with status S"
 * (WIFEXITED, S = the low 8 bits of what the child passed to exit) or
 * "killed by signal N" (WIFSIGNALED).  Python's exitcode is S, or -N.  So
 * returning is 0, sys.exit(3) is 3, an uncaught exception is 1 (Python's
 * interpreter exits with 1 after printing the traceback), terminate() is
 * -15, kill() is -9, and a crash is the signal of the crash: -11 for a
 * segmentation fault, -6 for abort().
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "quiz.h"
#include "timing.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static int end_by_return(void *arg)
{
    (void)arg;
    return 0;
}

static int end_by_exit3(void *arg)
{
    (void)arg;
    exit(3); /* Python: sys.exit(3) */
}

static int end_by_error(void *arg)
{
    (void)arg;
    /* The uncaught-exception analogue: report the error, end with 1, as
     * CPython does after printing the traceback. */
    if (!settings.csv)
        fprintf(stderr, "  [%d] error: an error nobody handled; the child "
                        "ends with status 1 (Python prints the traceback)\n",
                (int)getpid());
    return 1;
}

static int wait_to_be_signalled(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

/* A crash must reach the kernel as the signal it is.  Two things stand in
 * the way, and both are switched off in this child only:
 *   - a core file: SIGSEGV and SIGABRT dump core by default, which would
 *     leave a file behind (or wake a crash reporter).  A process that is
 *     not "dumpable" writes none; the signal and the exit code are the
 *     same.
 *   - the sanitizers: ASan installs its own SIGSEGV handler (handle_segv=1
 *     by default), which prints a report and exits with its exitcode (66
 *     in this suite), so the parent would see 66, not -11.  Setting the
 *     default action back (SIG_DFL) in the child puts the kernel's action
 *     in place again (ASan lets a program replace its handler:
 *     allow_user_segv_handler=1 by default); SIGABRT is not caught by ASan
 *     (handle_abort=0) but is reset the same way for the same reason.
 * The fault itself is a write to a page mapped without access, not a
 * null pointer: a null write is undefined behaviour, which UBSan would
 * report before any signal. */
static void crash_as_the_kernel_sees_it(int signal_number)
{
    CHECK(prctl(PR_SET_DUMPABLE, 0));
    struct rlimit none = {0, 0};
    CHECK(setrlimit(RLIMIT_CORE, &none));
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    CHECK(sigaction(signal_number, &default_action, NULL));
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signal_number);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

static int end_by_segv(void *arg)
{
    (void)arg;
    crash_as_the_kernel_sees_it(SIGSEGV);
    volatile int *forbidden = CHECK_PTR(
        mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
        MAP_FAILED);
    *forbidden = 1; /* the page has no access: SIGSEGV */
    return 0;
}

static int end_by_abort(void *arg)
{
    (void)arg;
    crash_as_the_kernel_sees_it(SIGABRT);
    abort();
}

static const struct action {
    const char *name;
    int (*body)(void *);
    int signal_from_parent; /* 0: the child ends by itself */
    int expected;
    const char *python;     /* what the Python child would do */
} actions[] = {
    {"return", end_by_return, 0, 0, "the target returns"},
    {"exit3", end_by_exit3, 0, 3, "sys.exit(3)"},
    {"error", end_by_error, 0, 1, "raise ValueError (uncaught)"},
    {"sigterm", wait_to_be_signalled, SIGTERM, -SIGTERM, "p.terminate()"},
    {"sigkill", wait_to_be_signalled, SIGKILL, -SIGKILL, "p.kill()"},
    {"segv", end_by_segv, 0, -SIGSEGV, "a crash in a C extension"},
    {"abort", end_by_abort, 0, -SIGABRT, "os.abort()"},
};
enum { ACTIONS = sizeof actions / sizeof actions[0] };

int run_exitcodes(void)
{
    if (settings.csv)
        say("action,exitcode");
    else
        say("exitcodes: one child per way of ending; p.exitcode from its "
            "wait status");
    bool all_right = true;
    for (int i = 0; i < ACTIONS; i++) {
        const struct action *a = &actions[i];
        struct proc child;
        proc_start(&child, a->name, a->body, NULL);
        if (a->signal_from_parent != 0) {
            /* Give the child time to be waiting; the signal ends it either
             * way (SIGTERM's default action is set back in every child). */
            proc_join(&child, scaled(0.01));
            proc_signal(&child, a->signal_from_parent);
        }
        proc_join(&child, -1);
        bool right = child.exitcode == a->expected;
        all_right &= right;
        if (settings.csv) {
            say("%s,%d", a->name, child.exitcode);
        } else {
            char text[64];
            say("  %-8s %-28s p.exitcode %3d  (%s)%s", a->name, a->python,
                child.exitcode,
                proc_describe_exitcode(child.exitcode, text, sizeof text),
                right ? "" : "  UNEXPECTED");
        }
    }
    if (!all_right) {
        fprintf(stderr, "process: an exit code was not the expected one\n");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}

/* ---- Predict, then check (--quiz, --answer) -------------------------------
 * Four children end in ways the table above does not show: exit() with a
 * value outside 0..255, and signals other than TERM and KILL.  What will
 * p.exitcode be?  The rule the answer uses is the kernel's: exit keeps the
 * low 8 bits of the value (exit(256) is 0, exit(-1) is 255); a signal whose
 * default action ends the process gives -N.  --seed S draws a new problem. */

static int exit_with_value(void *arg)
{
    exit(*(const int *)arg);
}

struct quiz_child {
    char label;
    bool by_signal;
    int value; /* the exit() value, or the signal */
};

static void describe_child(const struct quiz_child *c, char *text, size_t size)
{
    if (c->by_signal)
        snprintf(text, size, "killed by SIG%s", sigabbrev_np(c->value));
    else
        snprintf(text, size, "exit(%d)", c->value);
}

static int predicted(const struct quiz_child *c)
{
    return c->by_signal ? -c->value : (c->value & 0xff);
}

/* E: a child that sleeps S ms, joined with join(timeout=T ms).  The rule:
 * join expires when T < S, and the child is then still running (exitcode
 * None); otherwise it returns with the child reaped (exitcode 0).  Python's
 * join returns None either way; this lab's says which.  The pairs differ by
 * at least 80 ms, so a busy machine cannot turn one answer into the other. */
static int sleep_ms(void *arg)
{
    clock_sleep(*(const int *)arg / 1000.0);
    return 0;
}

static bool join_question(struct quiz *quiz)
{
    static const int pairs[][2] = {{200, 40}, {40, 200}, {300, 120},
                                   {120, 300}};
    int pick = quiz->seeded ? quiz_pick(quiz, 0, 3) : 0;
    int sleep = pairs[pick][0], timeout = pairs[pick][1];
    bool expires = timeout < sleep;
    if (!quiz->answer) {
        say("  E  sleeps %d ms, then p.join(timeout=%g): does join expire? "
            "p.exitcode after it ?", sleep, timeout / 1000.0);
        return true;
    }
    struct proc child;
    proc_start(&child, "quiz-child", sleep_ms, &sleep);
    bool reaped = proc_join(&child, timeout / 1000.0);
    bool right = reaped == !expires;
    say("  E  sleeps %d ms, then p.join(timeout=%g): %s, p.exitcode %s; "
        "predicted %s (join expires when the timeout is shorter)  %s",
        sleep, timeout / 1000.0, reaped ? "returned" : "expired",
        reaped ? "0" : "None", expires ? "expired, None" : "returned, 0",
        right ? "right" : "WRONG");
    if (!reaped)
        proc_join(&child, -1); /* now wait for it: nothing is left behind */
    return right;
}

int run_exitcodes_quiz(struct quiz *quiz)
{
    static const int values[] = {0, 3, 255, 256, 257, -1, 1000, 512};
    static const int signals[] = {SIGTERM, SIGKILL, SIGUSR1, SIGUSR2, SIGHUP,
                                  SIGALRM};
    struct quiz_child children[4] = {{'A', false, 256}, {'B', false, -1},
                                     {'C', true, SIGUSR1}, {'D', true, SIGALRM}};
    if (quiz->seeded) {
        for (int i = 0; i < 4; i++) {
            children[i].by_signal = i >= 2;
            children[i].value =
                children[i].by_signal
                    ? signals[quiz_pick(quiz, 0, (int)(sizeof signals /
                                                       sizeof *signals) - 1)]
                    : values[quiz_pick(quiz, 0, (int)(sizeof values /
                                                      sizeof *values) - 1)];
        }
    }
    char which[64] = "the default problem; --seed S draws a new one";
    if (quiz->seeded)
        snprintf(which, sizeof which, "seed %llu",
                 (unsigned long long)quiz->seed);
    say("exitcodes %s (%s): five children end; what is p.exitcode of each?",
        quiz->answer ? "answer" : "quiz", which);
    bool all_right = true;
    for (int i = 0; i < 4; i++) {
        const struct quiz_child *c = &children[i];
        char what[48];
        describe_child(c, what, sizeof what);
        if (!quiz->answer) {
            say("  %c  %-20s p.exitcode ?", c->label, what);
            continue;
        }
        struct proc child;
        proc_start(&child, "quiz-child",
                   c->by_signal ? wait_to_be_signalled : exit_with_value,
                   (void *)&c->value);
        if (c->by_signal)
            proc_signal(&child, c->value);
        proc_join(&child, -1);
        bool right = child.exitcode == predicted(c);
        all_right &= right;
        say("  %c  %-20s p.exitcode %4d  predicted %4d (%s)  %s", c->label,
            what, child.exitcode, predicted(c),
            c->by_signal ? "-N: killed by signal N"
                         : "exit keeps the low 8 bits",
            right ? "right" : "WRONG");
    }
    all_right &= join_question(quiz);
    if (!quiz->answer && quiz->seeded)
        say("Predict, then run: build/bin/process --experiment exitcodes "
            "--answer --seed %llu", (unsigned long long)quiz->seed);
    else if (!quiz->answer)
        say("Predict, then run: build/bin/process --experiment exitcodes "
            "--answer");
    return all_right ? EXIT_OK : EXIT_WRONG;
}
