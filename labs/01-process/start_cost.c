/* start_cost.c: how much it costs to start a process, seven ways, and why
 * the parent's size matters for one of them (E18).
 *
 * Each method creates something that runs and ends, and waits for it:
 *   fork         fork(); the child _exit(0)s.  The kernel copies the
 *                parent's page tables (the pages themselves are shared,
 *                copy-on-write): the cost grows with the parent's memory.
 *   fork-exec    fork(), then execve() of this program (`process --child
 *                exit`): the copy, and then loading a program.
 *   vfork-exec   vfork(): the child borrows the parent's memory (no copy)
 *                until it calls execve; the parent waits until then.
 *   posix-spawn  posix_spawn(): glibc does clone(CLONE_VM|CLONE_VFORK) +
 *                execve for us (glibc 2.36, Debian 12: clone3, as strace
 *                shows).
 *   clone-vm     the same by hand: clone(CLONE_VM|CLONE_VFORK) + execve.
 *   forkserver   ask a small server, started before the parent grew, to
 *                fork (a request and a reply over pipes).
 *   thread       pthread_create + pthread_join: no new address space.
 *   proc         this suite's own proc_start + proc_join (fork plus the
 *                registry, the signal set-up and PR_SET_PDEATHSIG).
 * The exec'd program is this binary: its main sees `--child exit` first
 * thing and returns 0 -- C's `if __name__ == "__main__":`.
 *
 * --parent-mib LIST: before timing, the parent maps that much private
 * memory and touches every page, so every page has a page-table entry to
 * copy.  Transparent huge pages are switched off for it (MADV_NOHUGEPAGE):
 * with 2 MiB pages a fork would copy 512 times fewer entries, and the
 * lesson would depend on the machine's THP setting.
 *
 * Measured: each repetition times --iterations starts of one method and
 * reports the mean; the methods take turns inside every repetition, their
 * order rotated each time, so a slow moment of the machine is shared.  The
 * work cannot be optimised away: every start is a system call whose result
 * (a pid, a wait status) is used.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "timing.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum method {
    FORK, FORK_EXEC, VFORK_EXEC, POSIX_SPAWN, CLONE_VM_EXEC, FORKSERVER,
    THREAD, PROC, METHODS
};
const char *const start_method_names[] = {
    "all", "fork", "fork-exec", "vfork-exec", "posix-spawn", "clone-vm",
    "forkserver", "thread", "proc", NULL};
static const char *const *const method_names = start_method_names + 1;

static char *child_argv[4];
static struct forkserver *server;

static void wait_for(pid_t pid)
{
    int status;
    CHECK(waitpid(pid, &status, 0));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die_at(__FILE__, __LINE__, "start-cost: a child did not exit 0",
               ECHILD);
}

/* The child of vfork and clone(CLONE_VM) runs in the parent's memory,
 * with the parent's thread-local storage, until execve: nothing may change
 * that memory.  Library calls could (errno, a sanitizer's bookkeeping:
 * ThreadSanitizer's would mark the *parent* as a forked child, which then
 * dies at its next pthread_create), so this path is raw system calls only,
 * and is not instrumented by the sanitizers. */
__attribute__((no_sanitize("address", "thread", "undefined")))
static void exec_child(void)
{
    syscall(SYS_execve, child_argv[0], child_argv, environ);
    syscall(SYS_exit, 127); /* only if execve failed */
}

static void start_fork(void)
{
    pid_t pid = CHECK(fork());
    if (pid == 0)
        _exit(0);
    wait_for(pid);
}

static void start_fork_exec(void)
{
    pid_t pid = CHECK(fork());
    if (pid == 0)
        exec_child();
    wait_for(pid);
}

/* In the vfork child only execve and _exit are allowed: it runs on the
 * parent's stack, in the parent's memory, until one of them. */
static void start_vfork_exec(void)
{
    pid_t pid = vfork();
    if (pid == 0)
        exec_child();
    if (pid == -1)
        die_at(__FILE__, __LINE__, "vfork", errno);
    wait_for(pid);
}

static void start_posix_spawn(void)
{
    pid_t pid;
    int rc = posix_spawn(&pid, child_argv[0], NULL, NULL, child_argv, environ);
    if (rc != 0)
        die_at(__FILE__, __LINE__, "posix_spawn", rc);
    wait_for(pid);
}

/* clone() runs the child on a stack we give it; CLONE_VFORK suspends us
 * until it has exec'd, so one stack serves every start. */
static char clone_stack[64 * 1024] __attribute__((aligned(16)));

__attribute__((no_sanitize("address", "thread", "undefined")))
static int clone_child(void *arg)
{
    (void)arg;
    exec_child();
    return 127;
}

/* glibc's own clone(), looked up in libc itself.  A plain call would do in
 * the plain build; under ThreadSanitizer it reaches the sanitizer's clone
 * interceptor, which treats the child as a fork and runs its after-fork
 * bookkeeping -- in the memory the child shares with us, so the *parent*
 * is then taken for a forked child and dies at its next pthread_create.
 * Our child touches nothing of that state (see exec_child), so going past
 * the interceptor is safe. */
typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);
static clone_fn libc_clone(void)
{
    static clone_fn found;
    if (found == NULL) {
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (libc != NULL)
            found = (clone_fn)dlsym(libc, "clone");
        if (found == NULL)
            found = clone;
    }
    return found;
}

static void start_clone_vm(void)
{
    pid_t pid = CHECK(libc_clone()(clone_child,
                                   clone_stack + sizeof clone_stack,
                                   CLONE_VM | CLONE_VFORK | SIGCHLD, NULL));
    wait_for(pid);
}

static void start_forkserver(void)
{
    if (forkserver_run(server, JOB_EXIT0) != 0)
        die_at(__FILE__, __LINE__, "start-cost: a forkserver child failed",
               ECHILD);
}

static void *empty_thread(void *arg) { return arg; }

static void start_thread(void)
{
    pthread_t thread;
    CHECK_PT(pthread_create(&thread, NULL, empty_thread, NULL));
    CHECK_PT(pthread_join(thread, NULL));
}

static int empty_child(void *arg)
{
    (void)arg;
    return 0;
}

static void start_proc(void)
{
    struct proc child;
    proc_start(&child, "empty", empty_child, NULL);
    proc_join(&child, -1);
    if (child.exitcode != 0)
        die_at(__FILE__, __LINE__, "start-cost: a proc child failed", ECHILD);
}

static void (*const starts[METHODS])(void) = {
    start_fork, start_fork_exec, start_vfork_exec, start_posix_spawn,
    start_clone_vm, start_forkserver, start_thread, start_proc};

static bool chosen(enum method method)
{
    return settings.method < 0 || (int)method == settings.method;
}

static double seconds_per_start(enum method method, uint64_t iterations)
{
    double t0 = clock_seconds();
    for (uint64_t i = 0; i < iterations; i++)
        starts[method]();
    return (clock_seconds() - t0) / (double)iterations;
}

/* The parent's extra memory: mapped, every page written once. */
static void *grow_parent(uint64_t mib, size_t *size)
{
    *size = (size_t)mib << 20;
    if (*size == 0)
        return NULL;
    char *memory = CHECK_PTR(mmap(NULL, *size, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                             MAP_FAILED);
    madvise(memory, *size, MADV_NOHUGEPAGE); /* see the header */
    long page = sysconf(_SC_PAGESIZE);
    for (size_t at = 0; at < *size; at += (size_t)page)
        memory[at] = 1;
    return memory;
}

int run_start_cost(void)
{
    child_argv[0] = (char *)settings.self;
    child_argv[1] = "--child";
    child_argv[2] = "exit";
    child_argv[3] = NULL;
    server = forkserver_start(); /* small, before the parent grows */

    int sizes = settings.parent_mib.count;
    int reps = (int)settings.repeat;
    double *samples = xcalloc((size_t)sizes * METHODS * (size_t)reps,
                              sizeof *samples);
    if (settings.csv)
        say("method,parent_mib,rep,seconds_per_start");
    else
        say("start-cost: create + wait, the mean of %llu starts per "
            "repetition, %d repetitions (+%llu warm-up), methods in turn",
            (unsigned long long)settings.iterations, reps,
            (unsigned long long)settings.warmup);
    for (int s = 0; s < sizes; s++) {
        uint64_t mib = settings.parent_mib.values[s];
        size_t size;
        void *memory = grow_parent(mib, &size);
        for (int rep = -(int)settings.warmup; rep < reps; rep++) {
            for (int k = 0; k < METHODS; k++) {
                enum method m = (enum method)((k + rep + METHODS) % METHODS);
                if (!chosen(m))
                    continue;
                double seconds = seconds_per_start(m, settings.iterations);
                if (rep < 0)
                    continue;
                samples[((size_t)s * METHODS + m) * (size_t)reps +
                        (size_t)rep] = seconds;
                if (settings.csv)
                    say("%s,%llu,%d,%.9f", method_names[m],
                        (unsigned long long)mib, rep + 1, seconds);
            }
        }
        if (memory != NULL)
            CHECK(munmap(memory, size));
    }
    forkserver_stop(server);
    if (settings.csv) {
        free(samples);
        return EXIT_OK;
    }

    /* The table: median and spread of each method at each size. */
    struct stats table[FLAG_LIST_MAX][METHODS];
    printf("  %-12s", "method");
    for (int s = 0; s < sizes; s++) {
        char head[32];
        snprintf(head, sizeof head, "%llu MiB (min-max)",
                 (unsigned long long)settings.parent_mib.values[s]);
        printf(" %-28s", head);
    }
    say("%s", "");
    for (int m = 0; m < METHODS; m++) {
        if (!chosen((enum method)m))
            continue;
        printf("  %-12s", method_names[m]);
        for (int s = 0; s < sizes; s++) {
            table[s][m] = stats_of(&samples[((size_t)s * METHODS + (size_t)m) *
                                            (size_t)reps],
                                   reps);
            char cell[64];
            snprintf(cell, sizeof cell, "%.1f us (%.0f-%.0f)",
                     table[s][m].median * 1e6, table[s][m].min * 1e6,
                     table[s][m].max * 1e6);
            printf(" %-28s", cell);
        }
        say("%s", "");
    }
    free(samples);
    if (settings.method >= 0)
        return EXIT_OK;
    /* The findings, computed from this run (medians). */
    const struct stats *small = table[0], *big = table[sizes - 1];
    say("start-cost: at %llu MiB: proc (proc_start + proc_join) is %.2fx a "
        "raw fork + waitpid; fork + waitpid costs %.1fx a thread's create + join",
        (unsigned long long)settings.parent_mib.values[0],
        small[PROC].median / small[FORK].median,
        small[FORK].median / small[THREAD].median);
    if (sizes > 1)
        say("start-cost: from %llu to %llu MiB: fork %.1fx, fork-exec %.1fx, "
            "posix-spawn %.2fx, vfork-exec %.2fx, clone-vm %.2fx, forkserver "
            "%.2fx, thread %.2fx",
            (unsigned long long)settings.parent_mib.values[0],
            (unsigned long long)settings.parent_mib.values[sizes - 1],
            big[FORK].median / small[FORK].median,
            big[FORK_EXEC].median / small[FORK_EXEC].median,
            big[POSIX_SPAWN].median / small[POSIX_SPAWN].median,
            big[VFORK_EXEC].median / small[VFORK_EXEC].median,
            big[CLONE_VM_EXEC].median / small[CLONE_VM_EXEC].median,
            big[FORKSERVER].median / small[FORKSERVER].median,
            big[THREAD].median / small[THREAD].median);
    say("start-cost: fork copies the parent's page tables; the vfork family "
        "and the forkserver copy nothing of it (on the machine this ran on; "
        "the times are noisy on a shared one)");
    return EXIT_OK;
}
