/* api.c: the Process API of the documents (E2), each part on a real child.
 *
 * Every line a child prints starts with its pid in brackets; every line the
 * lab prints about a child is what Python would print for the same call
 * (p.exitcode None, p.is_alive() True, ...), computed from the child.
 * Where a child and the parent must print in a fixed order, a pipe hands
 * the turn over: the order of the transcript is then the order of events,
 * not luck.
 */
#define _GNU_SOURCE
#include "process.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- Small tools ---------------------------------------------------------- */

static void *shared_area(size_t size)
{
    return CHECK_PTR(mmap(NULL, size, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                     MAP_FAILED);
}

/* A turn handed over a pipe: one byte.  Waiting is bounded (10 s); a peer
 * that never answers is a broken lab, reported as such. */
static void hand_over(int fd) { CHECK(write(fd, "t", 1)); }

static bool await_turn(int fd)
{
    struct pollfd ready = {.fd = fd, .events = POLLIN};
    int rc;
    do
        rc = poll(&ready, 1, 10000);
    while (rc == -1 && errno == EINTR);
    char byte;
    return rc == 1 && read(fd, &byte, 1) == 1;
}

struct turns {
    int to_child[2], to_parent[2];
};

static void turns_open(struct turns *t)
{
    CHECK(pipe(t->to_child));
    CHECK(pipe(t->to_parent));
}

/* The child's ends: it reads to_child and writes to_parent. */
static void keep_turns(struct process_object *p, const struct turns *t)
{
    p->keep[0] = t->to_child[0];
    p->keep[1] = t->to_parent[1];
    p->keep_count = 2;
}

static void turns_close(struct turns *t)
{
    for (int i = 0; i < 2; i++) {
        close(t->to_child[i]);
        close(t->to_parent[i]);
    }
}

/* Wall-clock time for people, like time.ctime() but with milliseconds (the
 * sleeps are scaled) and only digits (so transcripts compare by shape). */
static const char *time_of_day(char *text, size_t size)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm local;
    localtime_r(&now.tv_sec, &local);
    snprintf(text, size, "%02d:%02d:%02d.%03ld", local.tm_hour, local.tm_min,
             local.tm_sec, now.tv_nsec / 1000000);
    return text;
}

static const char *python_bool(bool value) { return value ? "True" : "False"; }

/* ---- clock: from a target, and by "subclassing" ---------------------------- */

/* Method 1 (the documents': def clock(x, y): for i in range(x): print the
 * time; sleep(y)), the target of a plain Process. */
struct clock_args {
    int times;
    double interval;
};

static int clock_target(void *arg)
{
    const struct clock_args *a = arg;
    char now[32];
    for (int i = 0; i < a->times; i++) {
        say("  [%d] The time is %s", (int)getpid(),
            time_of_day(now, sizeof now));
        pause_for(a->interval);
    }
    return 0;
}

/* Method 2: class ClockProcess(Process) with its own run().  The "base
 * class" comes first in the struct, so a pointer to it is a pointer to the
 * whole object. */
struct clock_process {
    struct process_object base;
    int times;
    double interval;
};

static int clock_process_run(struct process_object *self)
{
    const struct clock_process *clock = (const struct clock_process *)self;
    char now[32];
    for (int i = 0; i < clock->times; i++) {
        say("  [%d] %d==%s", (int)getpid(), (int)getpid(),
            time_of_day(now, sizeof now));
        pause_for(clock->interval);
    }
    return 0;
}

static void clock_process_init(struct clock_process *clock, int times,
                               double interval)
{
    /* Process.__init__(self), then def run(self) */
    process_object_init_as(&clock->base, "ClockProcess", NULL, NULL, NULL);
    clock->base.run = clock_process_run;
    clock->times = times;
    clock->interval = interval;
}

int run_clock(void)
{
    say("clock: method 1, p = Process(target=clock, args=(5, %g s)); "
        "p.start(); p.join()", scaled(1));
    struct clock_args args = {.times = 5, .interval = 1};
    struct process_object p;
    process_object_init(&p, clock_target, &args, NULL);
    process_object_start(&p);
    proc_join(&p.proc, -1);

    say("clock: method 2, class ClockProcess(Process) with run() replaced; "
        "p and p1 started together");
    struct clock_process first, second;
    clock_process_init(&first, 5, 1);
    clock_process_init(&second, 5, 1);
    process_object_start(&first.base);
    process_object_start(&second.base);
    proc_join(&first.base.proc, -1);
    proc_join(&second.base.proc, -1);
    char repr[160], repr1[160];
    say("  print(p), print(p1): %s, %s",
        process_object_repr(&first.base, repr, sizeof repr),
        process_object_repr(&second.base, repr1, sizeof repr1));
    bool clean = p.proc.exitcode == 0 && first.base.proc.exitcode == 0 &&
                 second.base.proc.exitcode == 0;
    say("clock: the same work either way: start() calls run(), whose default "
        "calls the target; exitcodes %d, %d, %d", p.proc.exitcode,
        first.base.proc.exitcode, second.base.proc.exitcode);
    return clean ? EXIT_OK : EXIT_WRONG;
}

/* ---- workers: the parent prints END first ---------------------------------- */

struct worker_times {
    _Atomic uint64_t ended_ns[3];
};

struct worker_args {
    int number;
    double seconds;
    struct worker_times *times;
};

static int worker(void *arg)
{
    const struct worker_args *w = arg;
    say("worker_%d", w->number);
    pause_for(w->seconds);
    say("end worker_%d", w->number);
    atomic_store(&w->times->ended_ns[w->number - 1], clock_nanoseconds());
    return 0;
}

int run_workers(void)
{
    say("workers: three processes sleeping 2, 3 and 4 s (x %g); the "
        "documents' main ends at once", settings.pause_scale);
    struct worker_times *times = shared_area(sizeof *times);
    struct worker_args args[3];
    struct process_object workers[3];
    uint64_t started = clock_nanoseconds();
    for (int i = 0; i < 3; i++) {
        args[i] = (struct worker_args){.number = i + 1, .seconds = 2 + i,
                                       .times = times};
        process_object_init(&workers[i], worker, &args[i], NULL);
        process_object_start(&workers[i]);
    }
    say("The number of CPU is:%d", proc_cpu_count_online());
    struct proc *running[8];
    int count = proc_active_children(running, 8);
    for (int i = 0; i < count && i < 8; i++)
        say("child   p.name:%s\tp.id%d", running[i]->name, (int)running[i]->pid);
    say("END!!!!!!!!!!!!!!!!!");
    uint64_t end_printed = clock_nanoseconds();
    /* The documents' program stops here; Python's exit hook then waits for
     * the three (they are not daemons: --experiment daemon). */
    for (int i = 0; i < 3; i++)
        proc_join(&workers[i].proc, -1);
    uint64_t joined = clock_nanoseconds();
    uint64_t first_end = UINT64_MAX, last_end = 0;
    bool all_zero = true;
    for (int i = 0; i < 3; i++) {
        uint64_t t = atomic_load(&times->ended_ns[i]);
        first_end = t < first_end ? t : first_end;
        last_end = t > last_end ? t : last_end;
        all_zero &= workers[i].proc.exitcode == 0;
    }
    char a[32], b[32], c[32];
    /* END before the first end is what a parent that keeps running shows;
     * only a parent kept off the CPU for the workers' whole sleep (a busy
     * machine, a tiny --pause-scale) would miss it, and then it says so. */
    say("workers: END was printed %s after the starts, %s the first worker "
        "ended (%s)%s",
        duration_text((double)(end_printed - started) / 1e9, a, sizeof a),
        end_printed < first_end ? "before" : "after",
        duration_text((double)(first_end - started) / 1e9, b, sizeof b),
        end_printed < first_end ? ""
                                : ": this process was not running that long");
    /* This one cannot fail: a join returns only after its child ended. */
    bool waited = joined >= last_end;
    say("workers: the joins returned at %s, %s the last worker ended (%s): "
        "start() does not wait for the child; join() does",
        duration_text((double)(joined - started) / 1e9, c, sizeof c),
        waited ? "after" : "BEFORE",
        duration_text((double)(last_end - started) / 1e9, a, sizeof a));
    CHECK(munmap(times, sizeof *times));
    return all_zero && waited ? EXIT_OK : EXIT_WRONG;
}

/* ---- attributes: name, pid, ppid, is_alive, exitcode, join(timeout) -------- */

static struct turns attribute_turns;

static int run_until_told(void *arg)
{
    (void)arg;
    if (!await_turn(attribute_turns.to_child[0]))
        return 1;
    pid_t parent = getppid();
    say("  in the child: os.getpid() %d, os.getppid() %d "
        "(parent_process().pid)", (int)getpid(), (int)parent);
    hand_over(attribute_turns.to_parent[1]);
    return await_turn(attribute_turns.to_child[0]) ? 0 : 1;
}

int run_attributes(void)
{
    turns_open(&attribute_turns);
    char code[16];
    say("attributes: p = Process(target=run_until_told), a child that runs "
        "until the parent says stop");
    struct process_object p;
    process_object_init(&p, run_until_told, NULL, NULL);
    keep_turns(&p, &attribute_turns);
    char pid_text[16] = "None"; /* no pid before start() */
    if (p.proc.pid != 0)
        snprintf(pid_text, sizeof pid_text, "%d", (int)p.proc.pid);
    char repr[160];
    say("  before start: p.name '%s', p.pid %s, p.is_alive() %s, "
        "p.exitcode %s", p.name, pid_text, python_bool(proc_is_alive(&p.proc)),
        process_object_exitcode(&p, code, sizeof code));
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    process_object_start(&p);
    say("  after start:  p.pid %d, p.is_alive() %s, p.exitcode %s "
        "(the lab's own pid is %d)", (int)p.proc.pid,
        python_bool(proc_is_alive(&p.proc)),
        process_object_exitcode(&p, code, sizeof code), (int)getpid());
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    hand_over(attribute_turns.to_child[1]);
    bool answered = await_turn(attribute_turns.to_parent[0]);

    double timeout = scaled(0.1);
    double t0 = clock_seconds();
    bool joined = proc_join(&p.proc, timeout);
    double waited = clock_seconds() - t0;
    char took[32];
    say("  p.join(timeout=%g) returned %s after %s: %s", timeout,
        python_bool(joined), duration_text(waited, took, sizeof took),
        joined ? "the child had ended" : "the timeout expired");
    say("    (CPython's join() returns None either way: check p.exitcode "
        "or p.is_alive() after it)");
    bool alive_after = proc_is_alive(&p.proc);
    say("  p.is_alive() %s, p.exitcode %s", python_bool(alive_after),
        process_object_exitcode(&p, code, sizeof code));

    hand_over(attribute_turns.to_child[1]);
    t0 = clock_seconds();
    bool joined_now = proc_join(&p.proc, 10.0);
    say("  told to stop: p.join(timeout=10) returned %s after %s; "
        "p.exitcode %s, p.is_alive() %s", python_bool(joined_now),
        duration_text(clock_seconds() - t0, took, sizeof took),
        process_object_exitcode(&p, code, sizeof code),
        python_bool(proc_is_alive(&p.proc)));
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    turns_close(&attribute_turns);
    return answered && !joined && alive_after && joined_now &&
                   p.proc.exitcode == 0
               ? EXIT_OK
               : EXIT_WRONG;
}

/* ---- terminate and kill --------------------------------------------------- */

static struct turns terminate_turns;

static int run_for_ever(void *arg)
{
    bool ignore_sigterm = arg != NULL;
    if (ignore_sigterm)
        signal(SIGTERM, SIG_IGN);
    hand_over(terminate_turns.to_parent[1]); /* ready: the disposition is set */
    for (;;)
        pause();
    return 0;
}

static int terminate_one(const char *how, bool ignore_sigterm)
{
    char code[16], text[64];
    struct process_object p;
    process_object_init(&p, run_for_ever, ignore_sigterm ? (void *)1 : NULL,
                        NULL);
    keep_turns(&p, &terminate_turns);
    process_object_start(&p);
    if (!await_turn(terminate_turns.to_parent[0]))
        return EXIT_WRONG;
    int expected = -SIGTERM;
    if (strcmp(how, "terminate") == 0) {
        proc_signal(&p.proc, SIGTERM); /* p.terminate() */
        if (ignore_sigterm) {
            bool ended = proc_join(&p.proc, scaled(0.2));
            say("  %s ignores SIGTERM: p.terminate(); p.join(timeout=%g) -> "
                "%s, p.is_alive() %s", p.name, scaled(0.2),
                ended ? "ended" : "still running",
                python_bool(proc_is_alive(&p.proc)));
            if (ended)
                return EXIT_WRONG;
            proc_signal(&p.proc, SIGKILL); /* p.kill(): cannot be ignored */
            expected = -SIGKILL;
            how = "kill";
        }
    } else {
        proc_signal(&p.proc, SIGKILL); /* p.kill() */
        expected = -SIGKILL;
    }
    proc_join(&p.proc, -1);
    say("  p.%s() (%s) -> p.exitcode %s: %s; p.is_alive() %s", how,
        expected == -SIGKILL ? "SIGKILL" : "SIGTERM",
        process_object_exitcode(&p, code, sizeof code),
        proc_describe_exitcode(p.proc.exitcode, text, sizeof text),
        python_bool(proc_is_alive(&p.proc)));
    char repr[160];
    say("    print(p): %s", process_object_repr(&p, repr, sizeof repr));
    return p.proc.exitcode == expected ? EXIT_OK : EXIT_WRONG;
}

int run_terminate(void)
{
    turns_open(&terminate_turns);
    say("terminate: children that would run for ever, ended from outside");
    int status = terminate_one("terminate", false);
    if (status == EXIT_OK)
        status = terminate_one("kill", false);
    if (status == EXIT_OK)
        status = terminate_one("terminate", true);
    say("terminate: no exit handler or finally clause runs in the child: "
        "what it held stays held (--experiment leftovers)");
    turns_close(&terminate_turns);
    return status;
}

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

/* ---- api: the tour ------------------------------------------------------- */

int run_api(void)
{
    int (*const tour[])(void) = {run_clock,     run_workers,
                                 run_attributes, run_terminate,
                                 run_active_children, run_cpu_count,
                                 run_daemon,    run_authkey};
    int status = EXIT_OK;
    for (size_t i = 0; i < sizeof tour / sizeof tour[0]; i++) {
        int one = tour[i]();
        if (one != EXIT_OK)
            status = one;
        if (i + 1 < sizeof tour / sizeof tour[0])
            say("%s", "");
    }
    return status;
}
