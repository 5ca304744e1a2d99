/* share.c: sharing data between processes -- the documents' Manager (E11),
 * and shared memory next to message passing (E12).
 *
 * Processes share no memory unless they ask for it.  Python offers two
 * ways to share data anyway: shared memory (Value, Array: a counter every
 * process writes in place) and a server process (Manager: one process owns
 * the data, the others send it requests through proxies).  This lab shows
 * both in C and what each costs:
 *   --experiment manager (default, documents.c)  the documents' program: a
 *       child sets d[1] = '1', d['2'] = 2, d[0.25] = None and reverses
 *       l = list(range(10)); the parent prints both as Python does;
 *   --experiment copy (documents.c)  the proxy gotcha: change a list you
 *       read from the dict, and the manager's list does not change;
 *   --address tcp:127.0.0.1:PORT  the manager serves over TCP too, and the
 *       child reaches it as another machine would: address, key, object
 *       ids; each connection proves the key both ways (--wrong-key: it
 *       cannot, and is refused);
 *   --experiment failures (failures.c)  garbage, a client killed
 *       mid-request, the manager killed: each a return value;
 *   --experiment cost (cost.c)  the same counter updates by 1 ... 2 x cores
 *       client processes through a manager proxy, a process-shared mutex,
 *       an atomic, padded per-process counters, and messages (queue,
 *       channel) to one owner.
 * How the manager works: common/manager.c (a Unix socket in a private
 * directory, one server thread per connection, the channel's encoding).
 *
 * Run:    build/bin/share
 *         build/bin/share --experiment copy
 *         build/bin/share --address tcp:127.0.0.1:0
 *         build/bin/share --experiment cost --workers 4
 *         build/bin/share --experiment cost --method manager --connect-per-call
 * Notice: the parent prints what the child did, though neither process
 *         holds the dict; a proxy call costs a round trip between
 *         processes, microseconds, where a shared-memory update costs
 *         nanoseconds.
 */
#define _GNU_SOURCE
#include "share.h"

#include "checked.h"
#include "flags.h"
#include "proc.h"
#include "watchdog.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- What the watchdog says if a run hangs -------------------------------- */

static _Atomic(const char *) phase = "starting";

void share_set_phase(const char *now)
{
    atomic_store(&phase, now);
}

static void diagnose(void *arg, FILE *out)
{
    (void)arg;
    fprintf(out,
            "share: stopped while in: %s.\n"
            "share: a client that never finishes its updates (blocked on a "
            "lock, a queue or\nshare: a reply) or a machine slower than "
            "--timeout allows.\n",
            atomic_load(&phase));
}

/* ---- main ----------------------------------------------------------------- */

static const char *const experiment_names[] = {"manager", "copy", "cost",
                                               "failures", NULL};

int main(int argc, char **argv)
{
    int experiment = 0, method = METHOD_COUNT;
    uint64_t workers = 2 * (uint64_t)proc_cpu_count(), iterations = 0,
             repeat = 3, warmup = 1;
    if (workers > 64)
        workers = 64;
    double timeout = 120;
    bool csv = false, connect_per_call = false, wrong_key = false;
    const char *address = NULL;
    struct flag flags[] = {
        {.name = "experiment", .type = FLAG_CHOICE, .target = &experiment,
         .choices = experiment_names, .value_name = "E",
         .help = "manager (the documents' program, default), copy (the proxy "
                 "gotcha), cost, failures"},
        {.name = "method", .type = FLAG_CHOICE, .target = &method,
         .choices = method_names, .value_name = "M",
         .help = "cost: manager, mutex, atomic, padded, queue, channel, or "
                 "all (default)"},
        flag_workers(&workers, 64),
        flag_iterations(&iterations),
        {.name = "connect-per-call", .type = FLAG_SWITCH,
         .target = &connect_per_call,
         .help = "cost: a new manager connection for every call (CPython "
                 "keeps one per thread)"},
        {.name = "address", .type = FLAG_TEXT, .target = &address,
         .value_name = "A",
         .help = "manager: serve over TCP too, A = tcp:127.0.0.1:PORT (PORT 0: "
                 "any free); the child connects over TCP with the key"},
        {.name = "wrong-key", .type = FLAG_SWITCH, .target = &wrong_key,
         .help = "manager, with --address: the child tries a wrong key (it "
                 "must be refused)"},
        flag_repeat(&repeat),
        flag_warmup(&warmup),
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    flags[2].help = "cost: clients 1, 2, 4 ... up to W";
    flags[2].default_text = "2 x cores, at most 64";
    flags[3].help = "cost: updates per client";
    flags[3].default_text = "each method's own, 2,000 for manager to 2M for "
                            "padded";
    struct program program = {
        .name = "share",
        .synopsis = "sharing data between processes: the documents' Manager "
                    "(E11), and shared memory\nnext to messages (E12)",
        .description =
            "--experiment manager  the documents' program: a manager server "
            "process owns a\n    dict and a list; a child sets d[1] = '1', "
            "d['2'] = 2, d[0.25] = None and\n    reverses l = "
            "list(range(10)) through proxies; the parent prints both, and\n"
            "    checks they are what CPython prints.  With --address "
            "tcp:127.0.0.1:PORT the\n    manager serves over TCP too and the "
            "child connects over TCP with the key\n    (HMAC-SHA256 challenges "
            "both ways); --wrong-key: it is refused.\n"
            "--experiment copy     the proxy gotcha: x = d['l'] is a copy; "
            "x.append(3) leaves\n    the manager's list as it was until "
            "d['l'] = x.\n"
            "--experiment failures  what a caller sees when a peer sends "
            "garbage, a client is\n    killed mid-request, the manager is "
            "killed: return values, never a hang.\n"
            "--experiment cost     the same counter updates by 1, 2, 4 ... "
            "--workers client\n    processes: manager (a dict proxy call per "
            "update), mutex (process-shared,\n    in shared memory), atomic, "
            "padded (a counter per client on its own cache\n    line), queue "
            "and channel (a message per update to one owner).  Every total\n"
            "    is checked.\n"
            "   CSV: method,clients,ops,seconds   (ops: updates by all "
            "clients together;\n    method manager-connect-per-call with "
            "--connect-per-call)\n"
            "One CSV row per repetition (--repeat), after --warmup unreported "
            "ones.",
        .exit_notes = "  Exit 1: the parent did not see what the child did, "
                      "the manager left something\n  behind, or a total "
                      "came out wrong.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    const char *cost_only[] = {"method", "workers", "iterations",
                               "connect-per-call", "repeat", "warmup", "csv"};
    for (size_t i = 0; i < sizeof cost_only / sizeof cost_only[0]; i++)
        if (flags_given(&program, cost_only[i]) && experiment != 2)
            flags_usage_error(&program,
                              "--%s: only with --experiment cost (manager "
                              "and copy are narrated, not measured)",
                              cost_only[i]);
    const char *tcp = NULL;
    if (address != NULL) {
        if (experiment != 0)
            flags_usage_error(&program, "--address: only with --experiment "
                                        "manager");
        /* tcp:127.x.x.x:PORT -- a teaching lab serves on loopback only. */
        unsigned a = 0, b = 0, c = 0, d = 0, port = 0;
        char end = 0;
        if (strncmp(address, "tcp:", 4) != 0 ||
            sscanf(address + 4, "%3u.%3u.%3u.%3u:%5u%c", &a, &b, &c, &d, &port,
                   &end) != 5 ||
            a != 127 || b > 255 || c > 255 || d > 255 || port > 65535 ||
            strchr(address + 4, '+') != NULL || strchr(address + 4, '-') != NULL)
            flags_usage_error(&program,
                              "--address: '%s' is not tcp:127.x.x.x:PORT "
                              "(a loopback address, PORT 0 to 65535)",
                              address);
        tcp = address + 4;
    }
    if (wrong_key && address == NULL)
        flags_usage_error(&program, "--wrong-key: only with --address");
    if (connect_per_call && method != METHOD_MANAGER &&
        method != METHOD_COUNT)
        flags_usage_error(&program,
                          "--connect-per-call: only for --method manager");

    signal(SIGPIPE, SIG_IGN); /* a dead peer is an error we report */
    watchdog_start(program.name, timeout);
    watchdog_set_diagnosis(diagnose, NULL);
    int status;
    if (experiment == 0)
        status = experiment_manager(tcp, wrong_key);
    else if (experiment == 1)
        status = experiment_copy();
    else if (experiment == 3)
        status = experiment_failures();
    else {
        struct cost_options options = {
            .method = method, .max_clients = workers,
            .iterations = iterations, .repeat = repeat, .warmup = warmup,
            .csv = csv, .connect_per_call = connect_per_call};
        status = experiment_cost(&options);
    }
    watchdog_stop();
    return status;
}
