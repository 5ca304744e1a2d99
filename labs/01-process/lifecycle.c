/* lifecycle.c: the Process API's other half (E2) -- zombies and
 * active_children(), cpu_count, daemons and the exit hook, the authkey --
 * each on a real child, and the exec'd child's roles (`process --child`).
 * The small tools (pipes that hand the turn over, shared memory) are in
 * api.c.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "timing.h"

#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- active_children: a zombie, reaped by looking -------------------------- */

/* The state letter of /proc/PID/stat (R, S, Z...), or 0 if there is no
 * such process any more. */
static char process_state(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    char *got = fgets(line, sizeof line, file);
    fclose(file);
    if (got == NULL)
        return 0;
    const char *close_paren = strrchr(line, ')'); /* the name may hold ')' */
    return close_paren != NULL && close_paren[1] == ' ' ? close_paren[2] : 0;
}

static int return_at_once(void *arg)
{
    (void)arg;
    return 0;
}

static struct turns active_turns;

static int wait_for_stop(void *arg)
{
    (void)arg;
    return await_turn(active_turns.to_child[0]) ? 0 : 1;
}

int run_active_children(void)
{
    turns_open(&active_turns);
    say("active-children: one child that returns at once, one that waits");
    struct process_object quick, waiting;
    process_object_init(&quick, return_at_once, NULL, NULL);
    process_object_init(&waiting, wait_for_stop, NULL, NULL);
    keep_turns(&waiting, &active_turns);
    process_object_start(&waiting);
    process_object_start(&quick);
    /* Wait (bounded) for the quick one to end; then it is a zombie. */
    char state = 0;
    for (int i = 0; i < 10000 && (state = process_state(quick.proc.pid)) != 'Z';
         i++)
        clock_sleep(0.001);
    say("  /proc/%d/stat: state %c%s", (int)quick.proc.pid, state ? state : '?',
        state == 'Z' ? " (zombie: it has ended; its exit status waits for "
                       "the parent to collect it)"
                     : "");
    bool looked_alive = proc_is_alive(&quick.proc);
    say("  %s.is_alive() %s; still state %c (proc_is_alive looks without "
        "reaping; CPython's is_alive() reaps)", quick.name,
        python_bool(looked_alive), process_state(quick.proc.pid));
    struct proc *running[8];
    int count = proc_active_children(running, 8);
    /* Both children are process objects: their struct proc comes first. */
    char repr[160];
    printf("  active_children() -> [");
    for (int i = 0; i < count && i < 8; i++)
        printf("%s%s", i ? ", " : "",
               process_object_repr(PROCESS_OBJECT_OF(running[i]), repr,
                                   sizeof repr));
    say("]");
    char after = process_state(quick.proc.pid);
    char code[16];
    say("  looking reaped the zombie: %s.exitcode %s, /proc/%d %s",
        quick.name, process_object_exitcode(&quick, code, sizeof code),
        (int)quick.proc.pid, after ? "still there" : "gone");
    hand_over(active_turns.to_child[1]);
    proc_join(&waiting.proc, -1);
    turns_close(&active_turns);
    bool right = state == 'Z' && !looked_alive && count == 1 &&
                 running[0] == &waiting.proc && after == 0 &&
                 quick.proc.joined && quick.proc.exitcode == 0;
    return right ? EXIT_OK : EXIT_WRONG;
}

/* ---- cpu_count vs the affinity ------------------------------------------- */

static int pinned_child(void *arg)
{
    (void)arg;
    cpu_set_t mine;
    CHECK(sched_getaffinity(0, sizeof mine, &mine));
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &mine))
        first++;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one));
    say("  [%d] pinned to CPU %d (sched_setaffinity): os.cpu_count() %d, "
        "os.process_cpu_count() %d", (int)getpid(), first,
        proc_cpu_count_online(), proc_cpu_count());
    return proc_cpu_count() == 1 ? 0 : 1;
}

int run_cpu_count(void)
{
    say("cpu-count: os.cpu_count() %d (CPUs online), os.process_cpu_count() "
        "%d (this process's affinity)", proc_cpu_count_online(),
        proc_cpu_count());
    struct process_object p;
    process_object_init(&p, pinned_child, NULL, NULL);
    process_object_start(&p);
    proc_join(&p.proc, -1);
    say("cpu-count: a pool sized by cpu_count() oversubscribes a pinned "
        "process (or container); Python 3.13's process_cpu_count() does not");
    return p.proc.exitcode == 0 ? EXIT_OK : EXIT_WRONG;
}

/* ---- daemon: the exit hook ------------------------------------------------ */

struct daemon_report {
    pid_t program, forever, worker, refused;
    int refused_exitcode;
    _Atomic uint64_t main_returned_ns, worker_done_ns;
    _Atomic int observed;
    struct {
        pid_t pid;
        bool daemon;
        int exitcode;
        uint64_t at_ns;
    } seen[4];
};
static struct daemon_report *daemon_report;

static void observe_exit(pid_t pid, bool daemon, int exitcode)
{
    int i = atomic_fetch_add(&daemon_report->observed, 1);
    if (i < 4) {
        daemon_report->seen[i].pid = pid;
        daemon_report->seen[i].daemon = daemon;
        daemon_report->seen[i].exitcode = exitcode;
        daemon_report->seen[i].at_ns = clock_nanoseconds();
    }
}

static int daemon_forever(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static int daemon_worker(void *arg)
{
    (void)arg;
    pause_for(1);
    atomic_store(&daemon_report->worker_done_ns, clock_nanoseconds());
    return 0;
}

/* A daemon that tries to start a child: proc_start refuses (and ends it
 * with status 1, as Python's AssertionError would). */
static int daemon_starter(void *arg)
{
    (void)arg;
    struct proc child;
    proc_start(&child, "grandchild", return_at_once, NULL);
    proc_join(&child, -1);
    return 0;
}

/* The "program" of the experiment: a child playing a whole Python main. */
static int daemon_program(void *arg)
{
    (void)arg;
    proc_set_exit_observer(observe_exit);
    struct process_object forever, work, starter;
    process_object_init(&forever, daemon_forever, NULL, "D-forever");
    forever.daemon = true;
    process_object_init(&work, daemon_worker, NULL, "N-worker");
    process_object_init(&starter, daemon_starter, NULL, "E-starter");
    starter.daemon = true;
    process_object_start(&forever);
    process_object_start(&work);
    process_object_start(&starter);
    daemon_report->forever = forever.proc.pid;
    daemon_report->worker = work.proc.pid;
    daemon_report->refused = starter.proc.pid;
    proc_join(&starter.proc, -1);
    daemon_report->refused_exitcode = starter.proc.exitcode;
    atomic_store(&daemon_report->main_returned_ns, clock_nanoseconds());
    return 0; /* and now the exit hook runs (proc_start's child path) */
}

int run_daemon(void)
{
    daemon_report = shared_area(sizeof *daemon_report);
    say("daemon: a program starts D (daemon=True, runs for ever), N "
        "(daemon=False, works %g s) and E (daemon=True, starts a child), "
        "then returns", scaled(1));
    struct process_object program;
    process_object_init(&program, daemon_program, NULL, "program");
    uint64_t started = clock_nanoseconds();
    process_object_start(&program);
    proc_join(&program.proc, -1);
    uint64_t ended = clock_nanoseconds();
    struct daemon_report *r = daemon_report;
    char text[64], a[32], b[32], c[32];
    say("  E (pid %d): %s", (int)r->refused,
        proc_describe_exitcode(r->refused_exitcode, text, sizeof text));
    say("  the program's main returned at %s; its exit hook then:",
        duration_text((double)(r->main_returned_ns - started) / 1e9, a,
                      sizeof a));
    bool forever_terminated = false, worker_waited = false;
    int observed = atomic_load(&r->observed);
    for (int i = 0; i < observed && i < 4; i++) {
        bool is_forever = r->seen[i].pid == r->forever;
        say("    %s %s (pid %d): exitcode %d, at %s",
            r->seen[i].daemon ? "terminated daemon" : "waited for",
            is_forever ? "D" : r->seen[i].pid == r->worker ? "N" : "?",
            (int)r->seen[i].pid, r->seen[i].exitcode,
            duration_text((double)(r->seen[i].at_ns - started) / 1e9, b,
                          sizeof b));
        forever_terminated |= is_forever && r->seen[i].daemon &&
                              r->seen[i].exitcode == -SIGTERM;
        worker_waited |= r->seen[i].pid == r->worker && !r->seen[i].daemon &&
                         r->seen[i].exitcode == 0;
    }
    uint64_t done = atomic_load(&r->worker_done_ns);
    say("  N finished its work at %s; the program ended at %s, %s",
        duration_text((double)(done - started) / 1e9, b, sizeof b),
        duration_text((double)(ended - started) / 1e9, c, sizeof c),
        done != 0 && done <= ended ? "after it: the exit waited for N"
                                   : "NOT after it");
    bool gone = process_state(r->forever) == 0 && process_state(r->worker) == 0;
    say("  /proc/%d (D) and /proc/%d (N): %s", (int)r->forever, (int)r->worker,
        gone ? "gone, nothing left" : "STILL THERE");
    bool right = r->refused_exitcode == 1 && forever_terminated &&
                 worker_waited && done != 0 && done <= ended && gone &&
                 program.proc.exitcode == 0;
    CHECK(munmap(daemon_report, sizeof *daemon_report));
    return right ? EXIT_OK : EXIT_WRONG;
}

/* ---- authkey ------------------------------------------------------------- */

static unsigned long long key_prefix(const unsigned char *key)
{
    unsigned long long prefix = 0;
    for (int i = 0; i < 8; i++)
        prefix = prefix << 8 | key[i];
    return prefix;
}

static int print_inherited_key(void *arg)
{
    const unsigned char *parent_key = arg;
    const unsigned char *mine = proc_authkey();
    say("  [%d] a forked child's authkey: 0x%016llx... (%s the parent's)",
        (int)getpid(), key_prefix(mine),
        memcmp(mine, parent_key, PROC_AUTHKEY_BYTES) == 0 ? "the same as"
                                                          : "NOT");
    return memcmp(mine, parent_key, PROC_AUTHKEY_BYTES) == 0 ? 0 : 1;
}

int run_authkey(void)
{
    const unsigned char *key = proc_authkey();
    unsigned char copy[PROC_AUTHKEY_BYTES];
    memcpy(copy, key, sizeof copy);
    say("authkey: current_process().authkey: %d random bytes, 0x%016llx... "
        "(the first 8 shown)", PROC_AUTHKEY_BYTES, key_prefix(key));
    struct process_object p;
    process_object_init(&p, print_inherited_key, copy, NULL);
    process_object_start(&p);
    proc_join(&p.proc, -1);
    /* An exec'd program is a fresh start: it makes its own key. */
    char *argv[] = {(char *)settings.self, "--child", "authkey", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, settings.self, NULL, NULL, argv, environ);
    if (rc != 0)
        die_at(__FILE__, __LINE__, "posix_spawn", rc);
    int status;
    CHECK(waitpid(pid, &status, 0));
    say("authkey: the manager's handshake (connection.Listener/Client, lab "
        "06 share) sends a random challenge; only a peer that holds the same "
        "key can answer it (HMAC), so only this program's own children get "
        "in; a spawned program must be handed the key (CPython sends it in "
        "the preparation data)");
    return p.proc.exitcode == 0 && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? EXIT_OK
               : EXIT_WRONG;
}

/* ---- The exec'd child: `process --child ROLE` ------------------------------ */

int child_role(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[2], "exit") == 0)
        return 0; /* start-cost: the whole point is to have started */
    if (argc == 3 && strcmp(argv[2], "authkey") == 0) {
        say("  [%d] an exec'd program (posix_spawn of this binary) makes its "
            "own: 0x%016llx...", (int)getpid(), key_prefix(proc_authkey()));
        return 0;
    }
    fprintf(stderr, "process: --child takes exit or authkey\n");
    return EXIT_USAGE;
}

