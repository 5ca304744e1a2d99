/* no_guard.c: a program that starts itself at every start -- what the
 * documents' "infinite recursion" without `if __name__ == "__main__":`
 * would be (E18), bounded.
 *
 * A program started by exec begins at main, with nothing of its parent's
 * memory: only its argv and its environment.  This experiment is written
 * the way a program without the guard behaves: its first act, whoever runs
 * it, is to start the program again with the same command line.  The new
 * program does the same, and so on: each is waiting for the next, and the
 * chain only grows.  Two bounds end it here: a depth counter carried in the
 * environment (PROCESS_NO_GUARD_DEPTH; --depth D) and the watchdog of every
 * level (--timeout).  The deepest one stops with exit 3; each level passes
 * that on, so the whole run ends with 3 (the watchdog's status: the run was
 * stopped, it did not finish).  Each level starts the next with
 * proc_start, so a level that dies takes the rest with it (the parent-death
 * signal survives exec), and the top, a subreaper, reaps whatever dies
 * below it: nothing is left.
 *
 * What CPython does today: with the spawn start method (Windows, macOS, and
 * the forkserver default of 3.14 on Linux) the child imports the main module
 * again, under the name __mp_main__, so a module-level Process().start()
 * runs again in the child.  CPython checks for exactly that
 * (multiprocessing/spawn.py: _check_not_importing_main): the child raises
 * RuntimeError("An attempt has been made to start a new process before the
 * current process has finished its bootstrapping phase ...") and ends with
 * exitcode 1.  The recursion the documents describe is what that check
 * stops; with fork the child does not re-run the module at all.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "cleanup.h"
#include "timing.h"

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const depth_variable = "PROCESS_NO_GUARD_DEPTH";
static _Atomic int my_depth; /* read by the watchdog thread */

int no_guard_depth(void) { return my_depth; }

static int start_this_program_again(void *arg)
{
    (void)arg;
    execv(settings.self, settings.argv);
    die_at(__FILE__, __LINE__, "execv", errno);
}

/* The top of the chain is a subreaper: if the watchdog (or Ctrl+C) ends the
 * run, it kills its own child, and every deeper level then dies of its
 * parent-death signal -- and is re-parented to the top, which reaps them
 * all here (a cleanup step: after the kill, before the exit).  Bounded:
 * they are all dying. */
static void reap_the_chain(void *arg)
{
    (void)arg;
    double deadline = clock_seconds() + 2.0;
    while (clock_seconds() < deadline) {
        pid_t got = waitpid(-1, NULL, WNOHANG);
        if (got == -1)
            return; /* ECHILD: nobody left */
        if (got == 0)
            clock_sleep(0.001);
    }
}

int run_no_guard(void)
{
    const char *text = getenv(depth_variable);
    int depth = text != NULL ? atoi(text) : 0;
    my_depth = depth;
    if (depth == 0) {
        CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1));
        cleanup_push(reap_the_chain, NULL);
    }
    if (depth == 0)
        say("no-guard: a program whose main starts the same program again, "
            "before anything else (no `if __name__ == \"__main__\"` test)");
    say("  depth %d: pid %d (parent %d) runs main from the top%s", depth,
        (int)getpid(), (int)getppid(),
        depth < settings.depth_limit ? "; it starts this program again" : "");
    if (depth >= settings.depth_limit) {
        say("  depth %d: the bound (--depth %d, counted in %s) stops the chain "
            "here; unbounded, it would grow until the machine ran out of "
            "processes", depth, settings.depth_limit, depth_variable);
        return EXIT_WATCHDOG;
    }
    char next[16];
    snprintf(next, sizeof next, "%d", depth + 1);
    CHECK(setenv(depth_variable, next, 1));
    char name[16];
    snprintf(name, sizeof name, "no-guard-%d", (depth + 1) % 100);
    struct proc child;
    proc_start(&child, name, start_this_program_again, NULL);
    proc_join(&child, -1);
    if (depth > 0)
        return child.exitcode == EXIT_WATCHDOG ? EXIT_WATCHDOG : EXIT_WRONG;
    say("no-guard: %d programs were started, each waiting for the next; the "
        "chain ended only because of the bound (exit %d)",
        settings.depth_limit, child.exitcode);
    say("no-guard: CPython today: the spawned child re-imports the main module "
        "as __mp_main__, and its Process().start() raises RuntimeError (\"An "
        "attempt has been made to start a new process before the current "
        "process has finished its bootstrapping phase\"): exitcode 1, no "
        "recursion. `process --child ROLE` is this lab's guard");
    return child.exitcode == EXIT_WATCHDOG ? EXIT_WATCHDOG : EXIT_WRONG;
}
