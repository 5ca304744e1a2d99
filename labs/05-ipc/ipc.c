/* ipc.c: passing messages between processes -- the queue's calls (E7), the
 * documents' message over a pipe (E8), and what a message costs.
 *
 * Processes share no memory unless they ask for it, so they talk by
 * passing messages.  Python gives two ways: multiprocessing.Queue
 * (put/get, blocking, with a timeout, or nowait) and Pipe() (a duplex
 * connection that sends objects).  This lab shows both in C:
 *   E7 (e7_queue.c)    every queue call, on an empty and on a full queue,
 *                      across two processes: what it returned, and when;
 *   E8 (e8_channel.c)  [42, None, 'hello'] child -> parent -> child over
 *                      one channel, encoded, decoded, checked;
 *   --bench (bench.c)  messages/s through the queue, a round trip, and
 *                      bandwidth, each next to a raw pipe measured in the
 *                      same run.
 * How they work: the queue (common/queue.c) is a ring of fixed-size slots
 * in shared memory, a robust mutex, and futexes to sleep on; an item is
 * copied in and out, and no system call is made while neither end has to
 * wait.  The channel (common/channel.c) is two pipes and a framing: a
 * header (length, kind), then the encoded value; every message is a
 * write() and a read(), a kernel copy each way.
 *
 * Run:    build/bin/ipc                          (E7, then E8)
 *         build/bin/ipc --experiment e8
 *         build/bin/ipc --bench queue --capacity 64
 *         build/bin/ipc --bench roundtrip --repeat 5
 *         build/bin/ipc --bench bandwidth --size 65536 --csv
 * Notice: a get() on an empty queue waits exactly until the other process
 *         puts; capacity 1 makes every item a hand-over, 64 lets the two
 *         processes run at once; a raw pipe's round trip is mostly two
 *         processes asleep, waiting to be woken (the parent's CPU time is
 *         printed next to its wall time), which the queue and the channel
 *         avoid by spinning -- while both ends have a core to run on.
 */
#define _GNU_SOURCE
#include "ipc.h"

#include "channel.h"
#include "checked.h"
#include "flags.h"
#include "watchdog.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- What the watchdog says if a run hangs -------------------------------- */

static _Atomic(const char *) phase = "starting";

void ipc_set_phase(const char *now)
{
    atomic_store(&phase, now);
}

static void diagnose(void *arg, FILE *out)
{
    (void)arg;
    fprintf(out,
            "ipc: stopped while in: %s.\n"
            "ipc: a message that never arrives is the only way this lab can "
            "hang: the other\nipc: process is blocked, dead, or slower than "
            "--timeout allows.\n",
            atomic_load(&phase));
}

/* ---- main ----------------------------------------------------------------- */

enum { SIZE_MIN = 8 }; /* a bandwidth message carries its 8-byte number */

static const char *const experiment_names[] = {"all", "e7", "e8", NULL};
static const char *const bench_names[] = {"none", "queue", "roundtrip",
                                          "bandwidth", NULL};

int main(int argc, char **argv)
{
    uint64_t capacity = 64, messages = 1000000, roundtrips = 20000,
             size = 65536, repeat = 5, warmup = 1;
    double timeout = 120;
    int experiment = 0, bench = BENCH_NONE;
    bool csv = false;
    struct flag flags[] = {
        {.name = "experiment", .type = FLAG_CHOICE, .target = &experiment,
         .choices = experiment_names, .value_name = "E",
         .help = "without --bench: e7 (the queue's calls), e8 (the message), "
                 "or all"},
        {.name = "bench", .type = FLAG_CHOICE, .target = &bench,
         .choices = bench_names, .value_name = "B",
         .help = "measure instead: queue, roundtrip or bandwidth"},
        {.name = "capacity", .type = FLAG_COUNT, .target = &capacity,
         .min = 1, .max = 1 << 20, .value_name = "C",
         .help = "--bench queue: slots in the queue"},
        {.name = "messages", .type = FLAG_COUNT, .target = &messages,
         .min = 1, .max = UINT64_C(10000000000), .value_name = "N",
         .help = "--bench queue or bandwidth: messages per repetition "
                 "(bandwidth's default: 256 MiB / size, 16 to 100k)"},
        {.name = "roundtrips", .type = FLAG_COUNT, .target = &roundtrips,
         .min = 1, .max = UINT64_C(1000000000), .value_name = "N",
         .help = "--bench roundtrip: round trips per repetition and "
                 "transport"},
        {.name = "size", .type = FLAG_COUNT, .target = &size, .min = SIZE_MIN,
         .max = 16 << 20, .value_name = "S",
         .help = "--bench bandwidth: bytes per message"},
        flag_repeat(&repeat),
        flag_warmup(&warmup),
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    struct program program = {
        .name = "ipc",
        .synopsis = "messages between processes: the queue's calls (E7), a "
                    "structured message over a\npipe (E8), and what a "
                    "message costs (--bench)",
        .description =
            "Without --bench: E7 plays every queue call (put, get; blocking, "
            "with a timeout,\nnowait; close) on empty and full queues "
            "between a parent and a child process,\nand prints a timeline "
            "of what each returned.  E8 sends [42, None, 'hello'] child\n-> "
            "parent -> child over one duplex channel.  Both check every "
            "claim they print.\n\n"
            "--bench queue      a producer process puts --messages 8-byte "
            "items into a queue\n                   of --capacity slots, the "
            "parent gets and checks them;\n                   in turn, a "
            "mutex + condvar queue between two threads, the same way.\n"
            "   CSV: transport,capacity,messages,seconds   (transport: "
            "queue, threads-condvar)\n"
            "--bench roundtrip  the parent sends a number, a child sends it "
            "back plus one,\n                   --roundtrips times, over "
            "queue, channel and a raw pipe in turn.\n"
            "   CSV: transport,roundtrips,seconds   (transport: queue, "
            "channel, pipe)\n"
            "--bench bandwidth  a child writes --messages messages of --size "
            "bytes, over a\n                   channel (send_bytes) and a "
            "raw pipe of the same capacity in turn.\n"
            "   CSV: transport,size,messages,seconds   (transport: channel, "
            "pipe)\n"
            "One CSV row per repetition (--repeat), after --warmup unreported "
            "ones; the\ntransports alternate within each repetition.  Every "
            "message is checked: a\nwrong, lost or reordered one is exit 1.",
        .exit_notes = "  Exit 1: a queue call returned something other than "
                      "what E7 says, the message\n  changed on the way (E8), "
                      "or a benchmark message was wrong.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);

    /* Flags that belong to one mode only are refused elsewhere, rather
     * than ignored: a --capacity that changes nothing would mislead. */
    const char *only_for[][2] = {
        {"capacity", "queue"},   {"roundtrips", "roundtrip"},
        {"size", "bandwidth"},
    };
    for (size_t i = 0; i < sizeof only_for / sizeof only_for[0]; i++)
        if (flags_given(&program, only_for[i][0]) &&
            (bench == BENCH_NONE ||
             strcmp(bench_names[bench], only_for[i][1]) != 0))
            flags_usage_error(&program, "--%s: only with --bench %s",
                              only_for[i][0], only_for[i][1]);
    if (flags_given(&program, "messages") && bench != BENCH_QUEUE &&
        bench != BENCH_BANDWIDTH)
        flags_usage_error(&program,
                          "--messages: only with --bench queue or bandwidth");
    const char *bench_only[] = {"repeat", "warmup", "csv"};
    for (size_t i = 0; i < sizeof bench_only / sizeof bench_only[0]; i++)
        if (flags_given(&program, bench_only[i]) && bench == BENCH_NONE)
            flags_usage_error(&program,
                              "--%s: only with --bench (E7 and E8 are "
                              "narrated, not measured)",
                              bench_only[i]);
    if (flags_given(&program, "experiment") && bench != BENCH_NONE)
        flags_usage_error(&program, "--experiment: not with --bench (choose "
                                    "one or the other)");
    if (bench == BENCH_BANDWIDTH && !flags_given(&program, "messages")) {
        /* About 256 MiB a repetition: long enough to time (~0.1 s) for
         * large messages, capped so 8-byte messages take well under a
         * second. */
        messages = (UINT64_C(256) << 20) / size;
        messages = messages < 16 ? 16 : messages > 100000 ? 100000 : messages;
    }

    /* A write to a pipe whose reader died must be an error we report, not
     * a silent death by SIGPIPE (channel.h does the same for its pipes). */
    signal(SIGPIPE, SIG_IGN);
    watchdog_start(program.name, timeout);
    watchdog_set_diagnosis(diagnose, NULL);

    int status = EXIT_OK;
    if (bench != BENCH_NONE) {
        struct bench_options options = {
            .kind = (enum bench_kind)bench, .capacity = capacity,
            .messages = messages, .roundtrips = roundtrips, .size = size,
            .repeat = repeat, .warmup = warmup, .csv = csv};
        status = bench_run(&options);
    } else {
        if (experiment != 2)
            status = e7_queue_calls();
        if (experiment == 0 && status == EXIT_OK)
            printf("\n");
        if (experiment != 1 && status == EXIT_OK)
            status = e8_channel_message();
    }
    watchdog_stop();
    return status;
}
