/* bench.c: what a message between two processes costs -- the queue's
 * throughput, a round trip, and bandwidth -- next to a raw pipe.
 *
 *   --bench queue      one producer process puts --messages 8-byte items
 *                      (0, 1, 2, ...) into a queue of --capacity slots; the
 *                      consumer (the parent) gets them.  In turn, the same
 *                      through a textbook mutex + condvar queue between two
 *                      threads (the yardstick).  Row: transport, capacity,
 *                      messages, seconds.
 *   --bench roundtrip  the parent sends a number, an echo child sends back
 *                      number + 1, --roundtrips times, over three transports
 *                      in turn: two queues (queue), a channel (channel: an
 *                      encoded integer value each way) and two raw pipes
 *                      (pipe: 8 bytes each way).  Row: transport,
 *                      roundtrips, seconds.
 *   --bench bandwidth  a writer child sends --messages messages of --size
 *                      bytes; the parent reads them, over a channel
 *                      (send_bytes / recv_bytes) and over a raw pipe of the
 *                      same capacity, in turn.  Row: transport, size,
 *                      messages, seconds.
 *
 * Every repetition times one whole run in the parent, on CLOCK_MONOTONIC:
 * from the moment it tells the child to start (a byte on a "go" pipe; the
 * child is forked before, so fork is not measured) to the last message
 * received and checked.  The transports of one benchmark run in turn
 * within each repetition, so a slow patch of the machine hits the
 * transport and its raw-pipe baseline alike; warm-up repetitions run the
 * same way and are not reported.
 *
 * Every message is checked where it arrives: a queue item must be the next
 * number, a reply the number sent plus one, a bandwidth message must have
 * the right length and carry its sequence number at both ends.  A wrong
 * message is exit 1, so a benchmark cannot be fast by being wrong.  The
 * compiler cannot delete the measured loops: every iteration calls a
 * function of another translation unit (queue_get, channel_recv) or a
 * system call (read, write) with the loop's data, and its result decides
 * whether the run fails, which is output.
 */
#define _GNU_SOURCE /* F_GETPIPE_SZ / F_SETPIPE_SZ: the raw pipe's capacity */
#include "ipc.h"

#include "channel.h"
#include "checked.h"
#include "proc.h"
#include "queue.h"
#include "timing.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Plumbing: exact reads and writes, the go signal --------------------- */

static bool write_exact(int fd, const void *data, size_t size)
{
    const char *bytes = data;
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written == -1 && errno == EINTR)
            continue;
        if (written == -1 && errno == EPIPE)
            return false; /* the reader is gone */
        if (written == -1)
            die_at(__FILE__, __LINE__, "write", errno);
        bytes += written;
        size -= (size_t)written;
    }
    return true;
}

/* false: end of file first (the writer is gone). */
static bool read_exact(int fd, void *data, size_t size)
{
    char *bytes = data;
    while (size > 0) {
        ssize_t got = read(fd, bytes, size);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1)
            die_at(__FILE__, __LINE__, "read", errno);
        if (got == 0)
            return false;
        bytes += got;
        size -= (size_t)got;
    }
    return true;
}

/* One round: a child that sends, the parent that receives and times. */
struct round {
    int go[2];          /* the parent writes one byte: start now */
    int there[2], back[2]; /* raw pipes: parent -> child, child -> parent */
    struct channel parent_end, child_end;
    struct queue *out, *in; /* roundtrip: ping and pong; queue: `in` only */
    uint64_t count;     /* messages or round trips */
    size_t size;        /* bandwidth: bytes per message */
    int pipe_capacity;  /* bandwidth: the raw pipe's, set to the channel's */
    enum transport {
        TRANSPORT_QUEUE, TRANSPORT_CHANNEL, TRANSPORT_PIPE,
        TRANSPORT_CONDVAR /* queue benchmark: two threads, mutex + condvars */
    } transport;
    size_t capacity;    /* queue: slots (the condvar queue's too) */
    double cpu; /* the parent's CPU seconds in the last timed run */
};

static const char *const transport_names[] = {"queue", "channel", "pipe",
                                              "threads-condvar"};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* In the child: wait for the parent's go.  false: the parent is gone. */
static bool wait_for_go(struct round *round)
{
    close_fd(&round->go[1]);
    char token;
    bool go = read_exact(round->go[0], &token, 1);
    close_fd(&round->go[0]);
    return go;
}

/* ---- The children: producer, echo, writer -------------------------------- */

static int produce(void *arg)
{
    struct round *round = arg;
    if (!wait_for_go(round))
        return EXIT_WRONG;
    for (uint64_t i = 0; i < round->count; i++)
        if (queue_put(round->in, &i, sizeof i, QUEUE_BLOCK) != QUEUE_OK)
            return EXIT_WRONG;
    return EXIT_OK;
}

static int echo(void *arg)
{
    struct round *round = arg;
    if (round->transport == TRANSPORT_CHANNEL)
        channel_close(&round->parent_end);
    if (round->transport == TRANSPORT_PIPE) {
        close_fd(&round->there[1]);
        close_fd(&round->back[0]);
    }
    if (!wait_for_go(round))
        return EXIT_WRONG;
    for (uint64_t i = 0; i < round->count; i++) {
        uint64_t number = 0;
        if (round->transport == TRANSPORT_QUEUE) {
            size_t size = 0;
            if (queue_get(round->out, &number, sizeof number, &size,
                          QUEUE_BLOCK) != QUEUE_OK || size != sizeof number)
                return EXIT_WRONG;
            number++;
            if (queue_put(round->in, &number, sizeof number, QUEUE_BLOCK) !=
                QUEUE_OK)
                return EXIT_WRONG;
        } else if (round->transport == TRANSPORT_CHANNEL) {
            struct value value;
            if (channel_recv(&round->child_end, &value, -1) != CHANNEL_OK ||
                value.kind != VALUE_INT)
                return EXIT_WRONG;
            value.integer++;
            if (channel_send(&round->child_end, &value) != CHANNEL_OK)
                return EXIT_WRONG;
        } else {
            if (!read_exact(round->there[0], &number, sizeof number))
                return EXIT_WRONG;
            number++;
            if (!write_exact(round->back[1], &number, sizeof number))
                return EXIT_WRONG;
        }
    }
    return EXIT_OK;
}

/* A message's sequence number, at its start and at its end: a message cut
 * short, merged with the next, or lost changes one of them. */
static void stamp(unsigned char *message, size_t size, uint64_t sequence)
{
    memcpy(message, &sequence, sizeof sequence);
    memcpy(message + size - sizeof sequence, &sequence, sizeof sequence);
}

static bool stamped(const unsigned char *message, size_t size,
                    uint64_t sequence)
{
    uint64_t head, tail;
    memcpy(&head, message, sizeof head);
    memcpy(&tail, message + size - sizeof tail, sizeof tail);
    return head == sequence && tail == sequence;
}

static unsigned char *message_buffer(size_t size)
{
    unsigned char *buffer = malloc(size);
    if (buffer == NULL)
        die_at(__FILE__, __LINE__, "malloc", errno);
    for (size_t i = 0; i < size; i++) /* every page touched before timing */
        buffer[i] = (unsigned char)(i * 7);
    return buffer;
}

static int write_messages(void *arg)
{
    struct round *round = arg;
    if (round->transport == TRANSPORT_CHANNEL)
        channel_close(&round->parent_end);
    else
        close_fd(&round->back[0]);
    unsigned char *message = message_buffer(round->size);
    if (!wait_for_go(round))
        return EXIT_WRONG;
    for (uint64_t i = 0; i < round->count; i++) {
        stamp(message, round->size, i);
        bool sent = round->transport == TRANSPORT_CHANNEL
                        ? channel_send_bytes(&round->child_end, message,
                                             round->size) == CHANNEL_OK
                        : write_exact(round->back[1], message, round->size);
        if (!sent)
            return EXIT_WRONG;
    }
    free(message);
    return EXIT_OK;
}

/* ---- The parent's side: set up, go, receive and check, time -------------- */

/* Open what this round's transport needs, before the fork. */
static void round_open(struct round *round, enum bench_kind kind)
{
    CHECK(pipe(round->go));
    round->there[0] = round->there[1] = round->back[0] = round->back[1] = -1;
    if (round->transport == TRANSPORT_CHANNEL)
        channel_pair(&round->parent_end, &round->child_end);
    if (round->transport == TRANSPORT_PIPE) {
        if (kind == BENCH_ROUNDTRIP)
            CHECK(pipe(round->there));
        CHECK(pipe(round->back));
        if (kind == BENCH_BANDWIDTH)
            CHECK(fcntl(round->back[1], F_SETPIPE_SZ, round->pipe_capacity));
    }
}

/* After the fork: keep only the parent's ends. */
static void round_parent_ends(struct round *round)
{
    close_fd(&round->go[0]);
    if (round->transport == TRANSPORT_CHANNEL)
        channel_close(&round->child_end);
    close_fd(&round->there[0]);
    close_fd(&round->back[1]);
}

static void round_close(struct round *round)
{
    close_fd(&round->go[1]);
    if (round->transport == TRANSPORT_CHANNEL)
        channel_close(&round->parent_end);
    close_fd(&round->there[1]);
    close_fd(&round->back[0]);
}

/* Receive (and, for round trips, send) everything; false at the first
 * wrong or missing message. */
static bool receive_all(struct round *round, enum bench_kind kind,
                        unsigned char *message)
{
    for (uint64_t i = 0; i < round->count; i++) {
        if (kind == BENCH_QUEUE) {
            uint64_t item = UINT64_MAX;
            size_t size = 0;
            if (queue_get(round->in, &item, sizeof item, &size, QUEUE_BLOCK) !=
                    QUEUE_OK ||
                size != sizeof item || item != i)
                return false;
        } else if (kind == BENCH_ROUNDTRIP &&
                   round->transport == TRANSPORT_QUEUE) {
            uint64_t reply = 0;
            size_t size = 0;
            if (queue_put(round->out, &i, sizeof i, QUEUE_BLOCK) != QUEUE_OK ||
                queue_get(round->in, &reply, sizeof reply, &size,
                          QUEUE_BLOCK) != QUEUE_OK ||
                size != sizeof reply || reply != i + 1)
                return false;
        } else if (kind == BENCH_ROUNDTRIP &&
                   round->transport == TRANSPORT_CHANNEL) {
            struct value number = value_int((int64_t)i), reply;
            if (channel_send(&round->parent_end, &number) != CHANNEL_OK ||
                channel_recv(&round->parent_end, &reply, -1) != CHANNEL_OK)
                return false;
            bool right = reply.kind == VALUE_INT &&
                         reply.integer == (int64_t)i + 1;
            value_free(&reply);
            if (!right)
                return false;
        } else if (kind == BENCH_ROUNDTRIP) {
            uint64_t reply = 0;
            if (!write_exact(round->there[1], &i, sizeof i) ||
                !read_exact(round->back[0], &reply, sizeof reply) ||
                reply != i + 1)
                return false;
        } else if (round->transport == TRANSPORT_CHANNEL) {
            size_t size = 0;
            if (channel_recv_bytes(&round->parent_end, message, round->size,
                                   &size, -1) != CHANNEL_OK ||
                size != round->size || !stamped(message, round->size, i))
                return false;
        } else {
            if (!read_exact(round->back[0], message, round->size) ||
                !stamped(message, round->size, i))
                return false;
        }
    }
    return true;
}

/* This process's CPU time (user + system), all threads: what it spent on
 * a CPU, as opposed to asleep.  Its tick is ~1 ms at worst, fine over a
 * repetition's thousands of round trips. */
static double cpu_seconds(void)
{
    struct rusage usage;
    CHECK(getrusage(RUSAGE_SELF, &usage));
    return (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 +
           (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
}

/* ---- The yardstick: a textbook queue between two threads ------------------
 *
 * A ring of uint64 items, one mutex, two condition variables, and no
 * cleverness: each put and get takes the lock, waits while full / empty,
 * and signals the other side.  Between two threads of one process, with no
 * crash safety: what the process queue is measured against in the same
 * run (same capacity, same items, same check). */
struct condvar_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    uint64_t *ring;
    size_t capacity, head, tail; /* tail - head items; indexes only grow */
    uint64_t count;
    pthread_barrier_t start;
};

static void *condvar_produce(void *arg)
{
    struct condvar_queue *q = arg;
    pthread_barrier_wait(&q->start);
    for (uint64_t i = 0; i < q->count; i++) {
        CHECK_PT(pthread_mutex_lock(&q->lock));
        while (q->tail - q->head == q->capacity)
            CHECK_PT(pthread_cond_wait(&q->not_full, &q->lock));
        q->ring[q->tail++ % q->capacity] = i;
        CHECK_PT(pthread_cond_signal(&q->not_empty));
        CHECK_PT(pthread_mutex_unlock(&q->lock));
    }
    return NULL;
}

/* The consumer is the calling thread, which times from the start barrier
 * (the producer thread exists; its creation is not measured) to the last
 * item checked. */
static double run_condvar(struct round *round)
{
    struct condvar_queue q = {.capacity = round->capacity,
                              .count = round->count};
    q.ring = xcalloc(q.capacity, sizeof *q.ring);
    CHECK_PT(pthread_mutex_init(&q.lock, NULL));
    CHECK_PT(pthread_cond_init(&q.not_empty, NULL));
    CHECK_PT(pthread_cond_init(&q.not_full, NULL));
    CHECK_PT(pthread_barrier_init(&q.start, NULL, 2));
    pthread_t producer;
    CHECK_PT(pthread_create(&producer, NULL, condvar_produce, &q));
    pthread_barrier_wait(&q.start);
    double start = clock_seconds(), cpu_start = cpu_seconds();
    bool right = true;
    for (uint64_t i = 0; i < q.count; i++) {
        CHECK_PT(pthread_mutex_lock(&q.lock));
        while (q.tail == q.head)
            CHECK_PT(pthread_cond_wait(&q.not_empty, &q.lock));
        uint64_t item = q.ring[q.head++ % q.capacity];
        CHECK_PT(pthread_cond_signal(&q.not_full));
        CHECK_PT(pthread_mutex_unlock(&q.lock));
        right = right && item == i;
    }
    double seconds = clock_seconds() - start;
    round->cpu = cpu_seconds() - cpu_start;
    CHECK_PT(pthread_join(producer, NULL));
    CHECK_PT(pthread_barrier_destroy(&q.start));
    CHECK_PT(pthread_cond_destroy(&q.not_full));
    CHECK_PT(pthread_cond_destroy(&q.not_empty));
    CHECK_PT(pthread_mutex_destroy(&q.lock));
    free(q.ring);
    if (right)
        return seconds;
    fprintf(stderr, "ipc: WRONG: the threads-condvar queue delivered an item "
                    "out of order\n");
    return -1;
}

/* One timed run.  Returns its seconds, or -1 if a message was wrong or the
 * child failed (said on stderr). */
static double run_round(struct round *round, enum bench_kind kind,
                        unsigned char *message)
{
    if (round->transport == TRANSPORT_CONDVAR)
        return run_condvar(round);
    round_open(round, kind);
    proc_main_fn body = kind == BENCH_QUEUE       ? produce
                        : kind == BENCH_ROUNDTRIP ? echo
                                                  : write_messages;
    struct proc child;
    /* The child holds only what round_open() made (proc.h). */
    bool channel = round->transport == TRANSPORT_CHANNEL;
    proc_start_keeping(&child, "ipc-bench", body, round,
                       PROC_FDS(round->go[0], round->go[1], round->there[0],
                                round->there[1], round->back[0],
                                round->back[1],
                                channel ? round->child_end.read_fd : -1,
                                channel ? round->child_end.write_fd : -1,
                                channel ? round->parent_end.read_fd : -1,
                                channel ? round->parent_end.write_fd : -1));
    round_parent_ends(round);

    char token = 1;
    double start = clock_seconds(), cpu_start = cpu_seconds();
    bool right = write_exact(round->go[1], &token, 1) &&
                 receive_all(round, kind, message);
    double seconds = clock_seconds() - start;
    round->cpu = cpu_seconds() - cpu_start;

    if (!right)
        proc_signal(&child, SIGKILL); /* it may be blocked on us */
    round_close(round);
    proc_join(&child, -1);
    if (right && child.exitcode == 0)
        return seconds;
    char how[64];
    fprintf(stderr,
            "ipc: WRONG: %s over the %s: %s; the sending child %s\n",
            kind == BENCH_QUEUE       ? "the queue benchmark"
            : kind == BENCH_ROUNDTRIP ? "a round trip"
                                      : "a bandwidth message",
            transport_names[round->transport],
            right ? "every message arrived right"
                  : "a message was wrong, missing or out of order",
            proc_describe_exitcode(child.exitcode, how, sizeof how));
    return -1;
}

/* ---- The benchmarks ------------------------------------------------------ */

/* The median of per-repetition ratios a[i] / b[i]. */
static double median_ratio(const double *a, const double *b, int count)
{
    double *ratios = xcalloc((size_t)count, sizeof *ratios);
    for (int i = 0; i < count; i++)
        ratios[i] = a[i] / b[i];
    double median = stats_of(ratios, count).median;
    free(ratios);
    return median;
}

/* The queue's round trip beats a pipe's only under two conditions, and
 * the run says which of them held.  The queue hands an item over by
 * spinning: while both processes have a core of their own, the reply is
 * seen through the cache in a microsecond or two.  When they share a core
 * (one CPU, or a busy machine), a waiter spins in vain, sleeps, and is
 * woken like a pipe reader: no faster than a pipe.  And the pipe is slow
 * only where a wake-up is slow (tens of microseconds on a VM, a few on bare
 * metal).  Thresholds: a queue round trip under 5 us was a spinning
 * hand-off (a sleep and a wake-up cost more); a pipe round trip of 10 us
 * or more is a slow wake-up. */
enum { SPIN_HANDOFF_US = 5, SLOW_PIPE_US = 10 };

static void explain_queue_lead(double queue_seconds, double pipe_seconds)
{
    double queue_us = queue_seconds * 1e6, pipe_us = pipe_seconds * 1e6;
    int cpus = proc_cpu_count();
    /* On one CPU the two ends cannot run at once, so no wait can have been
     * a useful spin, however short the round trip came out. */
    bool spun = cpus >= 2 && queue_us < SPIN_HANDOFF_US;
    bool slow_pipe = pipe_us >= SLOW_PIPE_US;
    printf("  the queue wins only while both processes have a free core (it "
           "hands over by\n  spinning) and pipe wake-ups are slow.  This run, "
           "on %d CPU%s:\n",
           cpus, cpus == 1 ? "" : "s");
    if (spun && slow_pipe)
        printf("  both held: the queue spun (%.2f us < %d us a round trip) and "
               "a pipe was slow\n  (%.1f us >= %d us): the queue was %.0fx "
               "faster.\n",
               queue_us, SPIN_HANDOFF_US, pipe_us, SLOW_PIPE_US,
               pipe_us / queue_us);
    else if (spun)
        printf("  the queue spun (%.2f us < %d us a round trip), but pipe "
               "wake-ups were fast\n  (%.1f us < %d us): the queue's lead "
               "was only %.1fx.\n",
               queue_us, SPIN_HANDOFF_US, pipe_us, SLOW_PIPE_US,
               pipe_us / queue_us);
    else
        printf("  no free core for both ends: the queue's waits spun in vain, "
               "then slept\n  (%.2f us >= %d us a round trip): %.2fx the "
               "pipe's time (%.1f us).\n",
               queue_us, SPIN_HANDOFF_US, queue_us / pipe_us, pipe_us);
}

int bench_run(const struct bench_options *o)
{
    int repeat = (int)o->repeat;
    enum transport order[3];
    int transports;
    struct round round = {.count = o->kind == BENCH_ROUNDTRIP ? o->roundtrips
                                                              : o->messages,
                          .size = (size_t)o->size};
    unsigned char *message = NULL;

    if (o->kind == BENCH_QUEUE) {
        order[0] = TRANSPORT_QUEUE, order[1] = TRANSPORT_CONDVAR;
        transports = 2;
        round.capacity = (size_t)o->capacity;
        round.in = queue_create((size_t)o->capacity, sizeof(uint64_t));
    } else if (o->kind == BENCH_ROUNDTRIP) {
        order[0] = TRANSPORT_QUEUE, order[1] = TRANSPORT_CHANNEL,
        order[2] = TRANSPORT_PIPE;
        transports = 3;
        round.out = queue_create(1, sizeof(uint64_t));
        round.in = queue_create(1, sizeof(uint64_t));
    } else {
        order[0] = TRANSPORT_CHANNEL, order[1] = TRANSPORT_PIPE;
        transports = 2;
        message = message_buffer(round.size);
        /* The raw pipe gets the channel's pipe capacity: the same kernel
         * object, the same size, so the only difference measured is the
         * channel's framing. */
        struct channel a, b;
        channel_pair(&a, &b);
        round.pipe_capacity = CHECK(fcntl(a.write_fd, F_GETPIPE_SZ));
        channel_close(&a);
        channel_close(&b);
    }
    signal(SIGPIPE, SIG_IGN); /* a dead reader is EPIPE, reported, not death */

    double *seconds[4], *cpu[4];
    for (int t = 0; t < transports; t++)
        seconds[t] = xcalloc((size_t)repeat, sizeof *seconds[t]),
        cpu[t] = xcalloc((size_t)repeat, sizeof *cpu[t]);
    if (o->csv)
        printf(o->kind == BENCH_QUEUE ? "transport,capacity,messages,seconds\n"
               : o->kind == BENCH_ROUNDTRIP ? "transport,roundtrips,seconds\n"
                                            : "transport,size,messages,seconds\n");

    int status = EXIT_OK;
    char phase[96];
    for (int rep = -(int)o->warmup; rep < repeat && status == EXIT_OK; rep++) {
        for (int t = 0; t < transports && status == EXIT_OK; t++) {
            round.transport = order[t];
            snprintf(phase, sizeof phase, "%s, %s: %s %d of %d",
                     o->kind == BENCH_QUEUE       ? "queue benchmark"
                     : o->kind == BENCH_ROUNDTRIP ? "round-trip benchmark"
                                                  : "bandwidth benchmark",
                     transport_names[order[t]],
                     rep < 0 ? "warm-up" : "repetition",
                     rep < 0 ? rep + (int)o->warmup + 1 : rep + 1,
                     rep < 0 ? (int)o->warmup : repeat);
            ipc_set_phase(phase);
            double s = run_round(&round, o->kind, message);
            if (s < 0) {
                status = EXIT_WRONG;
                break;
            }
            if (rep < 0)
                continue;
            seconds[t][rep] = s;
            cpu[t][rep] = round.cpu;
            if (!o->csv)
                continue;
            if (o->kind == BENCH_QUEUE)
                printf("%s,%" PRIu64 ",%" PRIu64 ",%.9f\n",
                       transport_names[order[t]], o->capacity, o->messages, s);
            else if (o->kind == BENCH_ROUNDTRIP)
                printf("%s,%" PRIu64 ",%.9f\n", transport_names[order[t]],
                       o->roundtrips, s);
            else
                printf("%s,%" PRIu64 ",%" PRIu64 ",%.9f\n",
                       transport_names[order[t]], o->size, o->messages, s);
            fflush(stdout);
        }
    }

    if (status == EXIT_OK && !o->csv) {
        char a[32], b[32], c[32];
        printf("%d repetition%s after %d warm-up; median (min-max):\n", repeat,
               repeat == 1 ? "" : "s", (int)o->warmup);
        for (int t = 0; t < transports; t++) {
            struct stats st = stats_of(seconds[t], repeat);
            double n = (double)round.count;
            if (o->kind == BENCH_QUEUE)
                printf("  %-15s capacity %" PRIu64 ": %s messages/s (%s-%s), "
                       "%" PRIu64 " messages of 8 bytes\n",
                       transport_names[order[t]], o->capacity,
                       rate_text(n / st.median, a, sizeof a),
                       rate_text(n / st.max, b, sizeof b),
                       rate_text(n / st.min, c, sizeof c), o->messages);
            else if (o->kind == BENCH_ROUNDTRIP)
                printf("  %-8s %8.2f us per round trip (%.2f-%.2f)\n",
                       transport_names[order[t]], st.median / n * 1e6,
                       st.min / n * 1e6, st.max / n * 1e6);
            else
                printf("  %-8s %10.1f MB/s (%.1f-%.1f), %" PRIu64
                       " messages of %" PRIu64 " bytes\n",
                       transport_names[order[t]],
                       n * (double)o->size / st.median / 1e6,
                       n * (double)o->size / st.max / 1e6,
                       n * (double)o->size / st.min / 1e6, o->messages,
                       o->size);
        }
        if (o->kind == BENCH_ROUNDTRIP) {
            printf("  channel / raw pipe: %.2fx the time per round trip, "
                   "queue / raw pipe: %.2fx\n  (medians of the ratios within "
                   "each repetition)\n",
                   median_ratio(seconds[1], seconds[2], repeat),
                   median_ratio(seconds[0], seconds[2], repeat));
            double n = (double)round.count;
            /* Where a round trip's time goes: measured, not guessed. */
            printf("  the parent's CPU time per round trip, of its wall "
                   "time (medians):\n ");
            for (int t = 0; t < transports; t++)
                printf(" %s %.2f of %.2f us%s", transport_names[order[t]],
                       stats_of(cpu[t], repeat).median / n * 1e6,
                       stats_of(seconds[t], repeat).median / n * 1e6,
                       t + 1 < transports ? "," : "\n");
            double pipe_busy = stats_of(cpu[2], repeat).median /
                               stats_of(seconds[2], repeat).median;
            printf("  a raw pipe's parent was on a CPU %.0f%% of each round "
                   "trip; the rest it slept\n  in read() until woken.  A "
                   "spinning wait (queue, channel) spends CPU instead.\n",
                   100 * (pipe_busy < 1 ? pipe_busy : 1));
            explain_queue_lead(stats_of(seconds[0], repeat).median / n,
                               stats_of(seconds[2], repeat).median / n);
        }
        if (o->kind == BENCH_QUEUE)
            printf("  process queue / threads-condvar: %.2fx the rate (median "
                   "of the ratios within\n  each repetition)\n",
                   median_ratio(seconds[1], seconds[0], repeat));
        if (o->kind == BENCH_BANDWIDTH)
            printf("  channel / raw pipe: %.2fx the raw pipe's bandwidth "
                   "(median of the ratios\n  within each repetition)\n",
                   median_ratio(seconds[1], seconds[0], repeat));
    }
    for (int t = 0; t < transports; t++)
        free(seconds[t]), free(cpu[t]);
    free(message);
    if (round.in != NULL)
        queue_destroy(round.in);
    if (round.out != NULL)
        queue_destroy(round.out);
    return status;
}
