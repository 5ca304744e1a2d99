/* cost.c (lab 06): the same counter updates, shared six ways (E11, E12).
 *
 * The documents say processes can share data through shared memory or
 * through a server process, and that crossing processes needs
 * serialization.  Here is what each way costs: 1, 2, 4 ... client
 * processes each make the same number of updates to a counter, and the
 * total must come out exact:
 *   manager  d[i] = n through a dict proxy: each update is a request to
 *            the manager's server process and its reply (a round trip,
 *            two system calls and two wake-ups each way);
 *   mutex    lock, counter += 1, unlock: a process-shared pthread mutex
 *            and the counter in one shared mapping;
 *   atomic   atomic_fetch_add on one shared counter: no lock, but every
 *            client fights for the same cache line;
 *   padded   one counter per client, each on its own cache line, summed
 *            at the end: nothing shared while counting;
 *   queue    each update a message (8 bytes) on one queue (capacity 1024)
 *            to an owner process (the parent) that sums them;
 *   channel  each update a message (an encoded integer) on a channel per
 *            client to the owner, which polls them all.
 *
 * Each run: fork the clients; each gets ready (a manager client opens its
 * connection: d[i] = 0) and says so; the parent starts the clock and lets
 * them all go at once; the clock stops when the last update is done (the
 * last client's end for shared memory and the manager, the owner's last
 * message for queue and channel).  Fork and start-up are not measured.
 * The loops cannot be optimised away: every update is an atomic
 * read-modify-write, a call into another translation unit (the manager,
 * the queue, the channel) or a lock, and the totals they produce are
 * checked and decide the exit status.
 */
#define _GNU_SOURCE
#include "share.h"

#include "channel.h"
#include "checked.h"
#include "manager.h"
#include "proc.h"
#include "queue.h"
#include "timing.h"

#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const method_names[] = {"manager", "mutex",   "atomic", "padded",
                                    "queue",   "channel", "all",    NULL};

enum { CLIENTS_MAX = 64, CACHE_LINE = 64, QUEUE_CAPACITY = 1024 };

/* Updates per client when --iterations is not given: each method's run
 * takes tens of milliseconds on 2 cores. */
static const uint64_t default_updates[METHOD_COUNT] = {
    [METHOD_MANAGER] = 2000,   [METHOD_MUTEX] = 200000,
    [METHOD_ATOMIC] = 200000,  [METHOD_PADDED] = 2000000,
    [METHOD_QUEUE] = 200000,   [METHOD_CHANNEL] = 50000,
};

/* In one MAP_SHARED mapping, made before the clients are forked. */
struct shared {
    _Alignas(CACHE_LINE) pthread_mutex_t mutex;
    uint64_t locked_counter; /* guarded by mutex */
    _Alignas(CACHE_LINE) atomic_uint_fast64_t atomic_counter;
    struct {
        _Alignas(CACHE_LINE) atomic_uint_fast64_t value;
    } padded[CLIENTS_MAX];
    _Alignas(CACHE_LINE) atomic_uint_fast64_t finished_at[CLIENTS_MAX];
};

struct run {
    enum method method;
    int clients;
    uint64_t updates; /* per client */
    struct shared *shared;
    struct manager_proxy counters; /* manager: d[i] is client i's counter */
    struct queue *queue;
    struct channel owner_ends[CLIENTS_MAX], client_ends[CLIENTS_MAX];
    int ready[2], go[2];
    int index; /* in the client: which one it is */
};

/* ---- A client process ------------------------------------------------------ */

static bool set_counter(struct run *run, uint64_t value)
{
    struct value key = value_int(run->index), number = value_int((int64_t)value);
    return manager_dict_set(&run->counters, &key, &number) == MANAGER_OK;
}

static int client(void *arg)
{
    struct run *run = arg;
    int me = run->index;
    /* This process holds only the descriptors its start kept: the ready
     * and go pipes' ends, and its own channel end (proc.h). */
    /* Ready: a manager client opens its connection now, not on the clock. */
    if (run->method == METHOD_MANAGER && !set_counter(run, 0))
        return EXIT_WRONG;
    char token = 1;
    if (write(run->ready[1], &token, 1) != 1 || read(run->go[0], &token, 1) != 1)
        return EXIT_WRONG;

    struct shared *shared = run->shared;
    uint64_t one = 1;
    struct value message = value_int(1);
    for (uint64_t n = 1; n <= run->updates; n++) {
        switch (run->method) {
        case METHOD_MANAGER:
            if (!set_counter(run, n))
                return EXIT_WRONG;
            break;
        case METHOD_MUTEX:
            CHECK_PT(pthread_mutex_lock(&shared->mutex));
            shared->locked_counter++;
            CHECK_PT(pthread_mutex_unlock(&shared->mutex));
            break;
        case METHOD_ATOMIC:
            atomic_fetch_add_explicit(&shared->atomic_counter, 1,
                                      memory_order_relaxed);
            break;
        case METHOD_PADDED: {
            /* Only this client writes it: a load and a store, no locked
             * instruction; atomic so that the owner's read at the end is
             * well defined. */
            atomic_uint_fast64_t *mine = &shared->padded[me].value;
            atomic_store_explicit(
                mine, atomic_load_explicit(mine, memory_order_relaxed) + 1,
                memory_order_relaxed);
            break;
        }
        case METHOD_QUEUE:
            if (queue_put(run->queue, &one, sizeof one, QUEUE_BLOCK) != QUEUE_OK)
                return EXIT_WRONG;
            break;
        case METHOD_CHANNEL:
            if (channel_send(&run->client_ends[me], &message) != CHANNEL_OK)
                return EXIT_WRONG;
            break;
        case METHOD_COUNT:
            return EXIT_WRONG;
        }
    }
    atomic_store(&shared->finished_at[me], clock_nanoseconds());
    return EXIT_OK;
}

/* ---- The owner (the parent) ------------------------------------------------ */

/* Receive every update sent as a message; returns their sum. */
static uint64_t receive_updates(struct run *run)
{
    uint64_t total = run->updates * (uint64_t)run->clients, got = 0, sum = 0;
    if (run->method == METHOD_QUEUE) {
        for (; got < total; got++) {
            uint64_t item = 0;
            if (queue_get(run->queue, &item, sizeof item, NULL, QUEUE_BLOCK) !=
                QUEUE_OK)
                break;
            sum += item;
        }
        return sum;
    }
    struct pollfd readable[CLIENTS_MAX];
    for (int i = 0; i < run->clients; i++)
        readable[i] = (struct pollfd){.fd = run->owner_ends[i].read_fd,
                                      .events = POLLIN};
    int open = run->clients;
    while (got < total && open > 0) {
        if (poll(readable, (nfds_t)run->clients, -1) == -1) {
            if (errno == EINTR)
                continue;
            die_at(__FILE__, __LINE__, "poll", errno);
        }
        for (int i = 0; i < run->clients; i++) {
            if (readable[i].fd < 0 || readable[i].revents == 0)
                continue;
            enum channel_status status;
            struct value value;
            /* Everything that already arrived: one read() brings many. */
            while ((status = channel_recv(&run->owner_ends[i], &value, 0)) ==
                   CHANNEL_OK) {
                sum += value.kind == VALUE_INT ? (uint64_t)value.integer : 0;
                got++;
            }
            if (status != CHANNEL_TIMEOUT) { /* closed or broken: done */
                readable[i].fd = -1;
                open--;
            }
        }
    }
    return sum;
}

/* The counters' total once every client is done. */
static uint64_t total_of(struct run *run)
{
    struct shared *shared = run->shared;
    uint64_t sum = 0;
    switch (run->method) {
    case METHOD_MANAGER:
        for (int i = 0; i < run->clients; i++) {
            struct value key = value_int(i), value;
            if (manager_dict_get(&run->counters, &key, &value) == MANAGER_OK &&
                value.kind == VALUE_INT)
                sum += (uint64_t)value.integer;
            value_free(&value);
        }
        return sum;
    case METHOD_MUTEX:
        return shared->locked_counter;
    case METHOD_ATOMIC:
        return atomic_load(&shared->atomic_counter);
    case METHOD_PADDED:
        for (int i = 0; i < run->clients; i++)
            sum += atomic_load(&shared->padded[i].value);
        return sum;
    default:
        return 0;
    }
}

/* One timed run.  Returns its seconds, or -1 if the total was wrong or a
 * client failed (said on stderr). */
static double run_once(struct run *run)
{
    struct shared *shared = run->shared;
    shared->locked_counter = 0;
    atomic_store(&shared->atomic_counter, 0);
    for (int i = 0; i < CLIENTS_MAX; i++) {
        atomic_store(&shared->padded[i].value, 0);
        atomic_store(&shared->finished_at[i], 0);
    }
    if (run->method == METHOD_QUEUE)
        run->queue = queue_create(QUEUE_CAPACITY, sizeof(uint64_t));
    if (run->method == METHOD_CHANNEL)
        for (int i = 0; i < run->clients; i++)
            channel_pair(&run->owner_ends[i], &run->client_ends[i]);
    CHECK(pipe2(run->ready, O_CLOEXEC));
    CHECK(pipe2(run->go, O_CLOEXEC));

    struct proc clients[CLIENTS_MAX];
    for (int i = 0; i < run->clients; i++) {
        run->index = i;
        char name[24];
        snprintf(name, sizeof name, "client-%d", i % CLIENTS_MAX);
        bool channel = run->method == METHOD_CHANNEL;
        proc_start_keeping(
            &clients[i], name, client, run,
            PROC_FDS(run->ready[1], run->go[0],
                     channel ? run->client_ends[i].read_fd : -1,
                     channel ? run->client_ends[i].write_fd : -1));
    }
    close(run->ready[1]);
    close(run->go[0]);
    if (run->method == METHOD_CHANNEL)
        for (int i = 0; i < run->clients; i++)
            channel_close(&run->client_ends[i]);

    /* Wait until every client is ready, then let them all go at once. */
    char tokens[CLIENTS_MAX];
    int ready = 0;
    while (ready < run->clients) {
        ssize_t got = read(run->ready[0], tokens, sizeof tokens);
        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* a client died before it was ready */
        ready += (int)got;
    }
    memset(tokens, 1, sizeof tokens);
    uint64_t start = clock_nanoseconds();
    CHECK(write(run->go[1], tokens, (size_t)run->clients));
    uint64_t sum = 0, end = 0;
    bool messages =
        run->method == METHOD_QUEUE || run->method == METHOD_CHANNEL;
    if (ready == run->clients && messages) {
        sum = receive_updates(run);
        end = clock_nanoseconds();
    }
    bool clients_right = true;
    for (int i = 0; i < run->clients; i++) {
        proc_join(&clients[i], -1);
        clients_right = clients_right && clients[i].exitcode == 0;
        uint64_t finished = atomic_load(&shared->finished_at[i]);
        if (!messages && finished > end)
            end = finished;
    }
    if (!messages)
        sum = total_of(run);
    close(run->ready[0]);
    close(run->go[1]);
    if (run->method == METHOD_CHANNEL)
        for (int i = 0; i < run->clients; i++)
            channel_close(&run->owner_ends[i]);
    if (run->queue != NULL)
        queue_destroy(run->queue);
    run->queue = NULL;

    uint64_t expected = run->updates * (uint64_t)run->clients;
    if (clients_right && ready == run->clients && sum == expected && end > start)
        return (double)(end - start) / 1e9;
    fprintf(stderr,
            "share: WRONG: %s with %d clients: total %" PRIu64
            ", expected %" PRIu64 "%s\n",
            method_names[run->method], run->clients, sum, expected,
            clients_right ? "" : "; a client failed");
    return -1;
}

/* ---- The sweep ------------------------------------------------------------- */

/* Nanoseconds below a microsecond (an atomic add is a few), else as
 * duration_text() writes it. */
static const char *time_text(double seconds, char *text, int size)
{
    if (seconds < 1e-6)
        snprintf(text, (size_t)size, "%.1f ns", seconds * 1e9);
    else
        duration_text(seconds, text, size);
    return text;
}

int experiment_cost(const struct cost_options *o)
{
    int counts[8], sweeps = 0;
    for (uint64_t c = 1; c < o->max_clients && sweeps < 7; c *= 2)
        counts[sweeps++] = (int)c;
    counts[sweeps++] = (int)o->max_clients;

    struct shared *shared =
        CHECK_PTR(mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                  MAP_FAILED);
    pthread_mutexattr_t attributes;
    CHECK_PT(pthread_mutexattr_init(&attributes));
    CHECK_PT(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutex_init(&shared->mutex, &attributes));
    CHECK_PT(pthread_mutexattr_destroy(&attributes));

    struct manager *manager = NULL;
    static struct run run; /* large (two channel arrays): not on the stack */
    run = (struct run){.shared = shared};
    if (o->method == METHOD_COUNT || o->method == METHOD_MANAGER) {
        manager = manager_start();
        manager_set_connect_per_call(manager, o->connect_per_call);
        if (manager_dict(manager, &run.counters) != MANAGER_OK)
            die_at(__FILE__, __LINE__, "manager.dict()", ECHILD);
    }

    if (o->csv)
        printf("method,clients,ops,seconds\n");
    else
        printf("share: E12 -- the same counter updates through shared memory "
               "and through messages,\n  1 to %d client processes, %d "
               "repetition%s after %d warm-up; median (min-max)\n"
               "  %-8s %7s %9s  %-30s %s\n",
               (int)o->max_clients, (int)o->repeat, o->repeat == 1 ? "" : "s",
               (int)o->warmup, "method", "clients", "updates",
               "updates/s, all clients", "one update, one client");
    fflush(stdout);

    int status = EXIT_OK;
    double one_client[METHOD_COUNT] = {0}; /* median seconds per update */
    double *seconds = xcalloc((size_t)o->repeat, sizeof *seconds);
    for (int m = 0; m < METHOD_COUNT && status == EXIT_OK; m++) {
        if (o->method != METHOD_COUNT && o->method != m)
            continue;
        run.method = (enum method)m;
        run.updates = o->iterations ? o->iterations : default_updates[m];
        for (int s = 0; s < sweeps && status == EXIT_OK; s++) {
            run.clients = counts[s];
            for (int rep = -(int)o->warmup; rep < (int)o->repeat; rep++) {
                char phase[96];
                snprintf(phase, sizeof phase, "%s, %d clients, %s %d",
                         method_names[m], run.clients,
                         rep < 0 ? "warm-up" : "repetition",
                         rep < 0 ? rep + (int)o->warmup + 1 : rep + 1);
                share_set_phase(phase);
                double t = run_once(&run);
                if (t < 0) {
                    status = EXIT_WRONG;
                    break;
                }
                if (rep < 0)
                    continue;
                seconds[rep] = t;
                uint64_t ops = run.updates * (uint64_t)run.clients;
                if (o->csv) {
                    printf("%s,%d,%" PRIu64 ",%.9f\n",
                           m == METHOD_MANAGER && o->connect_per_call
                               ? "manager-connect-per-call"
                               : method_names[m],
                           run.clients, ops, t);
                    fflush(stdout);
                }
            }
            if (status != EXIT_OK || o->csv)
                continue;
            struct stats st = stats_of(seconds, (int)o->repeat);
            double ops = (double)(run.updates * (uint64_t)run.clients);
            char a[32], b[32], c[32], per[32], range[80];
            snprintf(range, sizeof range, "%s (%s-%s)",
                     rate_text(ops / st.median, a, sizeof a),
                     rate_text(ops / st.max, b, sizeof b),
                     rate_text(ops / st.min, c, sizeof c));
            /* Per update, from the clients' side: the time one update takes
             * one client, while all of them run. */
            double each = st.median / (double)run.updates;
            printf("  %-8s %7d %9" PRIu64 "  %-30s %s\n", method_names[m],
                   run.clients, run.updates * (uint64_t)run.clients, range,
                   time_text(each, per, sizeof per));
            if (run.clients == 1)
                one_client[m] = each;
            fflush(stdout);
        }
    }
    free(seconds);

    if (status == EXIT_OK && !o->csv && one_client[METHOD_MANAGER] > 0 &&
        one_client[METHOD_ATOMIC] > 0) {
        char a[32], b[32];
        printf("  one client: a manager proxy call took %s, an atomic add in "
               "shared memory %s:\n  %.0fx less.  A proxy call is a round trip "
               "to another process; shared memory\n  is a store the other "
               "cores see through the cache (this machine, this run).\n",
               time_text(one_client[METHOD_MANAGER], a, sizeof a),
               time_text(one_client[METHOD_ATOMIC], b, sizeof b),
               one_client[METHOD_MANAGER] / one_client[METHOD_ATOMIC]);
    }
    if (manager != NULL && !manager_shutdown(manager) && status == EXIT_OK) {
        fprintf(stderr, "share: the manager did not stop when asked\n");
        status = EXIT_WRONG;
    }
    CHECK_PT(pthread_mutex_destroy(&shared->mutex));
    CHECK(munmap(shared, sizeof *shared));
    return status;
}
