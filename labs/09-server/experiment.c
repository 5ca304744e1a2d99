/* experiment.c: each experiment starts a server in a child process, drives
 * it, stops it with SIGTERM (so the drain is exercised every time), and
 * checks the server's own counts against what the client saw.
 *
 *   load  throughput and latency for one configuration, or a small sweep
 *         of workers x threads x io_ms (the bench runs one per call);
 *   herd  the same K connections, one after another, under each --accept
 *         mode: wake-ups per connection and connections per worker;
 *   kill  SIGKILL a worker under load: time to a ready replacement, and
 *         which requests failed;
 *   cap   a thread per connection with keep-alive: W x T idle connections
 *         take every thread, the next client waits; an event loop does not.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "flags.h"
#include "proc.h"
#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- A server in a child process ----------------------------------------- */

struct running_server {
    struct proc proc;
    struct server_shared *shared;
    struct server_config config;
    int port;
};

static int server_child(void *arg)
{
    struct running_server *s = arg;
    return serve(&s->config, s->shared);
}

static void server_start(struct running_server *s, int workers, int threads,
                         int accept_mode, double read_timeout)
{
    memset(s, 0, sizeof *s);
    s->shared = server_shared_create();
    int ready[2];
    CHECK(pipe2(ready, O_CLOEXEC));
    s->config = (struct server_config){
        .workers = workers, .threads = threads, .accept_mode = accept_mode,
        .port = 0, .read_timeout = read_timeout, .idle_timeout = 30,
        .quiet = true, .ready_fd = ready[1], .own_signals = true};
    proc_start_keeping(&s->proc, "master", server_child, s, PROC_FDS(ready[1]));
    close(ready[1]);
    /* The master writes its port once it listens. */
    struct pollfd wait = {.fd = ready[0], .events = POLLIN};
    if (poll(&wait, 1, 10000) != 1 ||
        read(ready[0], &s->port, sizeof s->port) != sizeof s->port)
        die_at(__FILE__, __LINE__, "the server did not start", EIO);
    close(ready[0]);
    /* Every worker is ready once it has recorded its start. */
    double until = clock_seconds() + 10;
    for (int i = 0; i < workers; i++)
        while (atomic_load(&s->shared->slot[i].ready_ns) == 0 &&
               clock_seconds() < until)
            clock_sleep(0.001);
    clock_sleep(0.02); /* ... and its threads are waiting for connections */
}

/* SIGTERM: the master drains every worker and exits 0. */
static int server_stop(struct running_server *s)
{
    proc_signal(&s->proc, SIGTERM);
    proc_join(&s->proc, -1);
    return s->proc.exitcode;
}

static void server_release(struct running_server *s)
{
    munmap(s->shared, sizeof *s->shared);
}

static uint64_t served_requests(const struct server_shared *shared, int workers)
{
    uint64_t n = 0;
    for (int i = 0; i < workers; i++)
        n += atomic_load(&shared->slot[i].requests);
    return n;
}

static void client_for(struct client_config *c, int port, int clients,
                       uint64_t requests, bool keep_alive, uint64_t cpu,
                       uint64_t io_ms)
{
    memset(c, 0, sizeof *c);
    strcpy(c->host, "127.0.0.1");
    c->port = port;
    c->clients = clients;
    c->requests = requests;
    c->keep_alive = keep_alive;
    c->request_timeout = 10;
    if (cpu == 0 && io_ms == 0)
        strcpy(c->path, "/");
    else
        snprintf(c->path, sizeof c->path, "/work?cpu=%llu&io_ms=%llu",
                 (unsigned long long)cpu, (unsigned long long)io_ms);
}

/* ---- load ------------------------------------------------------------------ */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int load_one(const struct experiment_options *o, int workers,
                    int threads, int io_ms)
{
    int mode = o->accept_mode >= 0 ? o->accept_mode
               : threads == 0      ? ACCEPT_EPOLL_EXCLUSIVE
                                   : ACCEPT_BLOCKING;
    int clients = o->clients > 0 ? o->clients : 16;
    uint64_t requests = o->requests > 0 ? o->requests : io_ms > 0 ? 400 : 4000;
    struct running_server s;
    server_start(&s, workers, threads, mode, 5);
    struct client_config c;
    client_for(&c, s.port, clients, requests, o->keep_alive, o->cpu,
               (uint64_t)io_ms);
    uint64_t answered = 0;
    double rates[REPEAT_MAX], p99s[REPEAT_MAX];
    uint64_t errors = 0;
    int runs = 0, waited_runs = 0;
    double longest_wait = 0, longest_run = 0;
    for (int i = 0; i < o->warmup + o->repeat; i++) {
        struct client_result r = client_run(&c);
        answered += r.requests;
        if (i < o->warmup)
            continue;
        errors += r.errors;
        /* A thread per connection with keep-alive serves at most W x T
         * clients at once; a client beyond that waits for a connection to
         * close.  Seen in the run as a request that took most of it. */
        if (r.max_us > 0.5 * r.seconds * 1e6) {
            waited_runs++;
            if (r.max_us > longest_wait) {
                longest_wait = r.max_us;
                longest_run = r.seconds;
            }
        }
        double rps = r.seconds > 0 ? (double)r.requests / r.seconds : 0;
        if (runs < REPEAT_MAX) {
            rates[runs] = rps;
            p99s[runs] = r.p99_us;
            runs++;
        }
        if (o->csv)
            printf("%d,%d,%s,%d,%llu,%d,%d,%llu,%.6f,%.1f,%.1f,%.1f,%.1f,%.1f,%llu\n",
                   workers, threads, accept_mode_names[mode], io_ms,
                   (unsigned long long)o->cpu, o->keep_alive ? 1 : 0, clients,
                   (unsigned long long)r.requests, r.seconds, rps, r.p50_us,
                   r.p90_us, r.p99_us, r.max_us, (unsigned long long)r.errors);
    }
    int exitcode = server_stop(&s);
    uint64_t served = served_requests(s.shared, workers);
    server_release(&s);
    if (!o->csv && runs > 0) {
        qsort(rates, (size_t)runs, sizeof *rates, compare_double);
        qsort(p99s, (size_t)runs, sizeof *p99s, compare_double);
        char work[48] = "";
        if (o->cpu > 0)
            snprintf(work, sizeof work, ", cpu %llu", (unsigned long long)o->cpu);
        printf("workers %d x threads %d, io_ms %d%s, %d clients%s: %.0f requests/s, "
               "p99 %.0f us (median of %d), %llu errors\n",
               workers, threads, io_ms, work, clients,
               o->keep_alive ? " keep-alive" : "", rates[runs / 2],
               p99s[runs / 2], runs, (unsigned long long)errors);
        if (waited_runs > 0 && o->keep_alive && threads > 0 &&
            clients > workers * threads)
            printf("  capped: in %d of %d runs a request waited %.0f ms of a %.0f "
                   "ms run -- %d keep-alive clients, %d threads in all: the "
                   "clients beyond %d waited for a thread\n",
                   waited_runs, runs, longest_wait / 1000, longest_run * 1000,
                   clients, workers * threads, workers * threads);
    }
    if (exitcode != 0) {
        char why[64];
        fprintf(stderr, "server: the server %s after SIGTERM, not 0\n",
                proc_describe_exitcode(exitcode, why, sizeof why));
        return EXIT_WRONG;
    }
    if (served != answered) {
        fprintf(stderr, "server: WRONG: the server counted %llu answered "
                        "requests, the client %llu\n",
                (unsigned long long)served, (unsigned long long)answered);
        return EXIT_WRONG;
    }
    return EXIT_OK;
}

int experiment_load(const struct experiment_options *o)
{
    int cores = proc_cpu_count();
    int worker_list[] = {o->workers > 0 ? o->workers : cores};
    int thread_sweep[] = {1, 4, 16};
    int io_sweep[] = {0, 5};
    int *threads = o->threads >= 0 ? (int[]){o->threads} : thread_sweep;
    int thread_count = o->threads >= 0 ? 1 : 3;
    int *ios = o->io_ms >= 0 ? (int[]){o->io_ms} : io_sweep;
    int io_count = o->io_ms >= 0 ? 1 : 2;
    if (o->csv)
        printf("workers,threads,accept,io_ms,cpu,keep_alive,clients,requests,"
               "seconds,rps,p50_us,p90_us,p99_us,max_us,errors\n");
    int status = EXIT_OK;
    for (int i = 0; i < io_count; i++)
        for (int t = 0; t < thread_count; t++) {
            int rc = load_one(o, worker_list[0], threads[t], ios[i]);
            if (rc != EXIT_OK)
                status = rc;
        }
    if (!o->csv && status == EXIT_OK)
        printf("every request answered; the server's count of answered "
               "requests equals the client's\n");
    return status;
}

/* ---- herd ------------------------------------------------------------------ */

int experiment_herd(const struct experiment_options *o)
{
    int workers = o->workers > 0 ? o->workers : 4;
    int threads = o->threads >= 0 ? o->threads : 1;
    int connections = o->connections;
    double seen_per[ACCEPT_MODES] = {0}, seen_share[ACCEPT_MODES] = {0};
    bool seen[ACCEPT_MODES] = {false};
    if (o->csv)
        printf("accept,workers,worker,connections,wakeups,failed_accepts\n");
    else
        printf("%d workers x %d %s, %d connections opened one after "
               "another (GET /, then close)\n\n"
               "%-16s %10s %10s  %s\n",
               workers, threads > 0 ? threads : 1,
               threads == 0 ? "event loop" : threads == 1 ? "thread" : "threads",
               connections, "accept",
               "wake-ups", "found", "connections per worker");
    if (!o->csv)
        printf("%-16s %10s %10s\n", "", "/conn", "nothing");
    int status = EXIT_OK;
    for (int mode = 0; mode < ACCEPT_MODES; mode++) {
        if (o->accept_mode >= 0 && mode != o->accept_mode)
            continue;
        if (threads == 0 && mode == ACCEPT_BLOCKING)
            continue; /* an event loop cannot block in accept() */
        struct running_server s;
        server_start(&s, workers, threads, mode, 5);
        struct client_config c;
        client_for(&c, s.port, 1, (uint64_t)connections, false, 0, 0);
        struct client_result r = client_run(&c);
        clock_sleep(0.02); /* let the losers of the last race look */
        int exitcode = server_stop(&s);
        uint64_t accepts = 0, wakeups = 0, failed = 0, most = 0,
                 fewest = UINT64_MAX;
        char spread[512] = "";
        size_t used = 0;
        for (int i = 0; i < workers; i++) {
            const struct worker_stats *w = &s.shared->slot[i];
            accepts += w->accepts;
            wakeups += w->wakeups;
            failed += w->failed_accepts;
            if (w->accepts > most)
                most = w->accepts;
            if (w->accepts < fewest)
                fewest = w->accepts;
            if (used < sizeof spread - 16)
                used += (size_t)snprintf(spread + used, sizeof spread - used,
                                         "%s%llu", i ? " " : "",
                                         (unsigned long long)w->accepts);
            if (o->csv)
                printf("%s,%d,%d,%llu,%llu,%llu\n", accept_mode_names[mode],
                       workers, i + 1, (unsigned long long)w->accepts,
                       (unsigned long long)w->wakeups,
                       (unsigned long long)w->failed_accepts);
        }
        double per = accepts ? (double)wakeups / (double)accepts : 0;
        double share = accepts ? 100.0 * (double)most / (double)accepts : 0;
        if (!o->csv)
            printf("%-16s %10.2f %10llu  %s (busiest %.0f%%)\n",
                   accept_mode_names[mode], per, (unsigned long long)failed,
                   spread, share);
        seen_per[mode] = per;
        seen_share[mode] = share;
        seen[mode] = true;
        if (exitcode != 0 || accepts != (uint64_t)connections ||
            r.requests != (uint64_t)connections) {
            fprintf(stderr, "server: WRONG: %s: %llu connections accepted, %llu "
                            "answered, %d opened (server exit %d)\n",
                    accept_mode_names[mode], (unsigned long long)accepts,
                    (unsigned long long)r.requests, connections, exitcode);
            status = EXIT_WRONG;
        }
        server_release(&s);
    }
    if (o->csv)
        return status;
    printf("\nwake-ups/conn: times a waiter was woken, per connection (its "
           "voluntary context\n"
           "switches in the wait: wake-ups the kernel took back count "
           "too).  found nothing:\n"
           "returned from epoll_wait, then accept() said EAGAIN.\n");
    /* What this run showed, each line computed from its row. */
    int waiters = workers * (threads > 0 ? threads : 1);
    for (int mode = 0; mode < ACCEPT_MODES; mode++) {
        if (!seen[mode])
            continue;
        const char *name = accept_mode_names[mode];
        if (seen_per[mode] >= 1.5)
            printf("%s: %.2f of %d idle waiters woken per connection: a "
                   "thundering herd\n", name, seen_per[mode], waiters);
        else if (seen_share[mode] >= 75 && workers > 1)
            printf("%s: one waiter woken per connection, but one worker took "
                   "%.0f%%: the most recently queued waiter is woken first\n",
                   name, seen_share[mode]);
        else
            printf("%s: one waiter woken per connection (%.2f), busiest "
                   "worker %.0f%% (an even share: %.0f%%)\n",
                   name, seen_per[mode], seen_share[mode], 100.0 / workers);
    }
    return status;
}

/* ---- kill ------------------------------------------------------------------ */

struct client_thread_run {
    struct client_config config;
    struct client_result result;
};

static void *run_client(void *arg)
{
    struct client_thread_run *run = arg;
    run->result = client_run(&run->config);
    return NULL;
}

int experiment_kill(const struct experiment_options *o)
{
    int workers = o->workers > 0 ? o->workers : 2;
    int threads = o->threads > 0 ? o->threads : 4;
    int mode = o->accept_mode >= 0 ? o->accept_mode : ACCEPT_BLOCKING;
    int clients = o->clients > 0 ? o->clients : workers * threads;
    uint64_t requests = o->requests > 0 ? o->requests : 4000;
    int io_ms = o->io_ms >= 0 ? o->io_ms : 1;
    int status = EXIT_OK;
    if (o->csv)
        printf("trial,workers,threads,killed_pid,replaced_ms,held,errors,"
               "requests\n");
    for (int trial = 1; trial <= o->repeat; trial++) {
        struct running_server s;
        server_start(&s, workers, threads, mode, 5);
        struct client_thread_run run;
        client_for(&run.config, s.port, clients, requests, true, o->cpu,
                   (uint64_t)io_ms);
        pthread_t thread;
        CHECK_PT(pthread_create(&thread, NULL, run_client, &run));
        /* Under load: a quarter of the requests answered. */
        while (served_requests(s.shared, workers) < requests / 4 &&
               proc_is_alive(&s.proc))
            clock_sleep(0.001);
        struct worker_stats *victim = &s.shared->slot[0];
        pid_t pid = atomic_load(&victim->pid);
        int held = atomic_load(&victim->busy);
        uint64_t killed_at = clock_nanoseconds();
        kill(pid, SIGKILL);
        /* The replacement is ready when it has recorded its start. */
        double until = clock_seconds() + 5;
        while ((atomic_load(&victim->pid) == pid ||
                atomic_load(&victim->ready_ns) < killed_at) &&
               clock_seconds() < until)
            clock_sleep(0.0002);
        bool replaced = atomic_load(&victim->pid) != pid &&
                        atomic_load(&victim->ready_ns) >= killed_at;
        double replaced_ms =
            replaced ? (double)(atomic_load(&victim->ready_ns) - killed_at) / 1e6
                     : -1;
        CHECK_PT(pthread_join(thread, NULL));
        int exitcode = server_stop(&s);
        uint64_t served = served_requests(s.shared, workers);
        const struct client_result *r = &run.result;
        if (o->csv)
            printf("%d,%d,%d,%d,%.3f,%d,%llu,%llu\n", trial, workers, threads,
                   (int)pid, replaced_ms, held, (unsigned long long)r->errors,
                   (unsigned long long)r->requests);
        else {
            printf("%d workers x %d threads, %d keep-alive clients, %llu requests "
                   "of /work?io_ms=%d\n",
                   workers, threads, clients, (unsigned long long)requests, io_ms);
            printf("  SIGKILL to worker 1 (pid %d); connections it held: %d\n",
                   (int)pid, held);
            if (replaced)
                printf("  replaced by pid %d, ready %.1f ms after the kill\n",
                       (int)atomic_load(&victim->pid), replaced_ms);
            else
                printf("  NOT replaced within 5 s\n");
            printf("  requests failed: %llu (at most one in flight per connection "
                   "it held), answered: %llu\n",
                   (unsigned long long)r->errors, (unsigned long long)r->requests);
        }
        /* The only requests that may fail are those on the connections the
         * dead worker held.  Its counts may be off by those too: a response
         * sent but not yet counted when SIGKILL came, or counted and never
         * read whole. */
        bool ok = replaced && exitcode == 0 &&
                  r->errors <= (uint64_t)held &&
                  r->requests + r->errors == requests &&
                  served + (uint64_t)held >= r->requests &&
                  served <= r->requests + (uint64_t)held;
        if (!ok) {
            fprintf(stderr, "server: WRONG: replaced %s, %llu errors with %d "
                            "connections held, server answered %llu, client "
                            "got %llu (server exit %d)\n",
                    replaced ? "yes" : "no", (unsigned long long)r->errors, held,
                    (unsigned long long)served, (unsigned long long)r->requests,
                    exitcode);
            status = EXIT_WRONG;
        }
        server_release(&s);
    }
    return status;
}

/* ---- cap ------------------------------------------------------------------- */

static int probe_connect(int port)
{
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(connect(fd, (struct sockaddr *)&address, sizeof address));
    return fd;
}

/* Send GET / and wait up to `seconds` for the whole small answer; returns
 * the seconds it took, or -1 if none came. */
static double probe_request(int fd, double seconds)
{
    static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    double started = clock_seconds();
    if (send(fd, request, sizeof request - 1, MSG_NOSIGNAL) < 0)
        return -1;
    char buf[1024];
    size_t have = 0;
    while (have < sizeof buf - 1) {
        int ms = (int)((started + seconds - clock_seconds()) * 1000);
        struct pollfd wait = {.fd = fd, .events = POLLIN};
        if (ms <= 0 || poll(&wait, 1, ms) != 1)
            return -1;
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL && strlen(end + 4) >= strlen(HTTP_ROOT_BODY))
            return clock_seconds() - started;
    }
    return -1;
}

static int cap_one(int workers, int threads, int mode, bool *capped,
                   double wait_seconds)
{
    struct running_server s;
    server_start(&s, workers, threads, mode, 5);
    int held = workers * (threads > 0 ? threads : 4);
    int *fds = xcalloc((size_t)held + 1, sizeof *fds);
    int answered = 0;
    for (int i = 0; i < held; i++) {
        fds[i] = probe_connect(s.port);
        if (probe_request(fds[i], 5) >= 0)
            answered++;
    }
    int extra = probe_connect(s.port);
    double late = probe_request(extra, wait_seconds);
    char text[32];
    if (threads > 0)
        printf("--threads %d: %d keep-alive connections opened, %d answered once "
               "and left open (idle)\n", threads, held, answered);
    else
        printf("--threads 0 (an event loop per worker): %d keep-alive "
               "connections opened, %d answered once and left open\n",
               held, answered);
    int status = EXIT_OK;
    if (late < 0) {
        printf("  connection %d: no answer within %s -- every thread holds an "
               "idle connection\n", held + 1,
               duration_text(wait_seconds, text, sizeof text));
        close(fds[0]);
        fds[0] = -1;
        /* The request is already sent; the answer comes once a thread is
         * free, so wait for its bytes alone. */
        char buf[1024];
        double started = clock_seconds();
        struct pollfd wait = {.fd = extra, .events = POLLIN};
        bool got = poll(&wait, 1, 5000) == 1 && recv(extra, buf, sizeof buf, 0) > 0;
        if (got)
            printf("  closed connection 1: connection %d answered %s later\n",
                   held + 1,
                   duration_text(clock_seconds() - started, text, sizeof text));
        else
            status = EXIT_WRONG;
        *capped = true;
    } else {
        printf("  connection %d: answered in %s while the %d others stay open\n",
               held + 1, duration_text(late, text, sizeof text), held);
        *capped = false;
    }
    for (int i = 0; i < held; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(extra);
    free(fds);
    if (server_stop(&s) != 0 || answered != held)
        status = EXIT_WRONG;
    server_release(&s);
    return status;
}

int experiment_cap(const struct experiment_options *o)
{
    int workers = o->workers > 0 ? o->workers : 2;
    int threads = o->threads > 0 ? o->threads : 4;
    printf("%d workers: a thread per connection caps open connections at "
           "workers x threads = %d\n", workers, workers * threads);
    bool capped_threads = false, capped_loop = true;
    int status = cap_one(workers, threads, ACCEPT_BLOCKING, &capped_threads, 0.3);
    int rc = cap_one(workers, 0, ACCEPT_EPOLL_EXCLUSIVE, &capped_loop, 0.3);
    if (rc != EXIT_OK)
        status = rc;
    if (capped_threads && !capped_loop) {
        printf("capped: with keep-alive a thread per connection serves at most "
               "%d clients at once, the next waits for a connection to close; an "
               "event loop holds a connection for the price of a small struct, "
               "so an idle client costs no thread (that is why nginx's worker is "
               "one)\n", workers * threads);
    } else {
        printf("WRONG: expected the threaded server to cap and the event loop "
               "not to\n");
        status = EXIT_WRONG;
    }
    return status;
}

/* ---- hostile ---------------------------------------------------------------
 * Requests no client should send, many at once: each must get the status
 * HTTP prescribes (or, for a request cut short, a close), and no worker may
 * die -- a worker that crashed would show as a respawn. */

enum hostile_kind {
    H_RANDOM, H_TRUNCATED, H_BIG_HEADER, H_MANY_HEADERS, H_GET_BODY,
    H_UNKNOWN_METHOD, H_POST, H_VERSION, H_NO_HOST, H_NUL, H_VALID, H_SLOW,
    H_KINDS
};
static const char *const hostile_names[] = {
    "random bytes", "request line cut short", "a 9 KiB header",
    "120 header fields", "a body on GET", "an unknown method", "POST",
    "HTTP/9.9", "HTTP/1.1 without Host", "a NUL byte in the target",
    "a valid request", "a slow sender"};
/* What each must get: a status, or 0 for "closed without an answer";
 * -1: any 4xx (random bytes can form a different error each time). */
static const int hostile_expected[] = {-1, 0, 431, 431, 400, 501, 405, 505,
                                       400, 400, 200, 408};

struct hostile_run {
    int port;
    uint64_t cases;
    uint64_t seed;
    atomic_uint_fast64_t next;
    atomic_uint_fast64_t sent[H_KINDS], right[H_KINDS];
};

/* A fixed sequence of kinds, each one in turn, slow senders every 50th
 * (each holds a server thread for the read timeout). */
static enum hostile_kind hostile_kind_of(uint64_t i)
{
    if (i % 50 == 49)
        return H_SLOW;
    return (enum hostile_kind)(i % H_SLOW);
}

static uint64_t next_random(uint64_t *state)
{
    /* splitmix64: a reproducible stream from --seed. */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Send `data`, optionally half-close, read until the server closes;
 * returns the status of the answer, 0 if it closed without one, -2 on a
 * timeout. */
static int hostile_exchange(int port, const char *data, size_t length,
                            bool half_close)
{
    int fd = probe_connect(port);
    struct timeval limit = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    size_t off = 0;
    while (off < length) {
        ssize_t n = send(fd, data + off, length - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before the rest */
        off += (size_t)n;
    }
    if (half_close)
        shutdown(fd, SHUT_WR);
    char buf[256];
    size_t have = 0;
    int status = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            status = -2;
            break;
        }
        if (n <= 0)
            break;
        have += (size_t)n;
        if (have == sizeof buf - 1) {
            buf[have] = '\0';
            have = 12; /* keep the status line's start; discard the rest */
        }
    }
    buf[have] = '\0';
    if (status == 0 && have >= 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0)
        status = atoi(buf + 9);
    close(fd);
    return status;
}

static void *hostile_client(void *arg)
{
    struct hostile_run *run = arg;
    char *big = xcalloc(1, 12000);
    for (;;) {
        uint64_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->cases)
            break;
        uint64_t state = run->seed * 1000003u + i;
        enum hostile_kind kind = hostile_kind_of(i);
        size_t n = 0;
        bool half_close = false;
        switch (kind) {
        case H_RANDOM: {
            size_t length = 1 + next_random(&state) % 200;
            for (size_t k = 0; k < length; k++)
                big[n++] = (char)(next_random(&state) & 0xff);
            n += (size_t)sprintf(big + n, "\r\n\r\n");
            break;
        }
        case H_TRUNCATED:
            n = (size_t)sprintf(big, "GET /ind");
            half_close = true;
            break;
        case H_BIG_HEADER:
            n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
            memset(big + n, 'a', 9000);
            n += 9000;
            n += (size_t)sprintf(big + n, "\r\n\r\n");
            break;
        case H_MANY_HEADERS:
            n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\n");
            for (int k = 0; k < 120; k++)
                n += (size_t)sprintf(big + n, "X-%d: y\r\n", k);
            n += (size_t)sprintf(big + n, "\r\n");
            break;
        case H_GET_BODY:
            n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 5\r\n\r\nhello");
            break;
        case H_UNKNOWN_METHOD:
            n = (size_t)sprintf(big, "FROB / HTTP/1.1\r\nHost: x\r\n\r\n");
            break;
        case H_POST:
            n = (size_t)sprintf(big, "POST / HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 3\r\n\r\nabc");
            break;
        case H_VERSION:
            n = (size_t)sprintf(big, "GET / HTTP/9.9\r\nHost: x\r\n\r\n");
            break;
        case H_NO_HOST:
            n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n\r\n");
            break;
        case H_NUL:
            memcpy(big, "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n", 29);
            n = 29;
            break;
        case H_VALID:
            n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n");
            break;
        case H_SLOW:
            n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHo");
            break;
        case H_KINDS:
            break;
        }
        int status = hostile_exchange(run->port, big, n, half_close);
        int expected = hostile_expected[kind];
        bool right = expected == -1 ? status >= 400 && status < 500
                                    : status == expected;
        atomic_fetch_add(&run->sent[kind], 1);
        if (right)
            atomic_fetch_add(&run->right[kind], 1);
    }
    free(big);
    return NULL;
}

int experiment_hostile(const struct experiment_options *o)
{
    int workers = o->workers > 0 ? o->workers : 2;
    int threads = o->threads >= 0 ? o->threads : 4;
    int mode = o->accept_mode >= 0 ? o->accept_mode
               : threads == 0      ? ACCEPT_EPOLL_EXCLUSIVE
                                   : ACCEPT_BLOCKING;
    int clients = o->clients > 0 ? o->clients : 8;
    struct running_server s;
    server_start(&s, workers, threads, mode, 0.2);
    struct hostile_run *run = xcalloc(1, sizeof *run);
    run->port = s.port;
    run->cases = o->requests > 0 ? o->requests : 5000;
    run->seed = o->seed;
    pthread_t *ids = xcalloc((size_t)clients, sizeof *ids);
    double started = clock_seconds();
    for (int i = 0; i < clients; i++)
        CHECK_PT(pthread_create(&ids[i], NULL, hostile_client, run));
    for (int i = 0; i < clients; i++)
        CHECK_PT(pthread_join(ids[i], NULL));
    double seconds = clock_seconds() - started;
    free(ids);
    /* The server still serves after all that. */
    struct client_config c;
    client_for(&c, s.port, 1, 10, true, 0, 0);
    struct client_result after = client_run(&c);
    int exitcode = server_stop(&s);
    uint64_t respawns = atomic_load(&s.shared->respawns), rejected = 0;
    for (int i = 0; i < workers; i++)
        rejected += atomic_load(&s.shared->slot[i].rejected);

    int status = EXIT_OK;
    uint64_t all = 0, all_right = 0, expected_rejections = 0;
    if (o->csv)
        printf("kind,expected,sent,as_expected\n");
    else
        printf("%llu hostile or malformed requests, %d clients at once, against "
               "%d workers x %d %s (--read-timeout 0.2 s)\n",
               (unsigned long long)run->cases, clients, workers,
               threads > 0 ? threads : 1,
               threads == 0 ? "event loop" : threads == 1 ? "thread" : "threads");
    for (int k = 0; k < H_KINDS; k++) {
        uint64_t sent = run->sent[k], right = run->right[k];
        all += sent;
        all_right += right;
        if (hostile_expected[k] != 0 && hostile_expected[k] != 200)
            expected_rejections += right;
        char expected[32];
        if (hostile_expected[k] == -1)
            snprintf(expected, sizeof expected, "a 4xx");
        else if (hostile_expected[k] == 0)
            snprintf(expected, sizeof expected, "a close");
        else
            snprintf(expected, sizeof expected, "%d", hostile_expected[k]);
        if (o->csv)
            printf("%s,%s,%llu,%llu\n", hostile_names[k], expected,
                   (unsigned long long)sent, (unsigned long long)right);
        else
            printf("  %-26s %5llu sent, %5llu got %s\n", hostile_names[k],
                   (unsigned long long)sent, (unsigned long long)right, expected);
        if (right != sent)
            status = EXIT_WRONG;
    }
    if (!o->csv)
        printf("%llu of %llu as HTTP says in %.1f s; workers respawned: %llu "
               "(%s); afterwards GET / x 10: %llu answered\n",
               (unsigned long long)all_right, (unsigned long long)all, seconds,
               (unsigned long long)respawns,
               respawns == 0 ? "none crashed" : "A WORKER CRASHED",
               (unsigned long long)after.requests);
    if (respawns != 0 || exitcode != 0 || after.requests != 10 ||
        rejected != expected_rejections) {
        fprintf(stderr, "server: WRONG: %llu respawns, server exit %d, %llu of 10 "
                        "answered after, server rejected %llu, expected %llu\n",
                (unsigned long long)respawns, exitcode,
                (unsigned long long)after.requests, (unsigned long long)rejected,
                (unsigned long long)expected_rejections);
        status = EXIT_WRONG;
    }
    free(run);
    server_release(&s);
    return status;
}
