/* serve.c: the pre-fork server -- a master that binds one port and forks W
 * workers, each serving connections with T threads (or one event loop).
 *
 * The master does no HTTP at all.  It binds the socket, forks the workers
 * (they inherit the socket: that is the whole trick of pre-forking), and
 * then only watches them: a worker that dies is replaced in its slot, and
 * the first SIGTERM or SIGINT is forwarded to every worker as SIGTERM,
 * which means "drain": stop taking connections, answer every request
 * already read, close, exit 0.  The master waits for them all, prints the
 * counts, and exits 0.  A second SIGINT/SIGTERM, or the --timeout, kills
 * everything at once (the watchdog's usual path: exit 130 or 3).
 *
 * How a worker takes a connection (--accept) decides who is woken up:
 *   accept           every thread blocks in accept() on the one shared socket.
 *                    The kernel queues them as exclusive waiters and wakes
 *                    exactly one per connection, first come first served.
 *   epoll            every thread waits in epoll_wait() on the shared socket
 *                    (level-triggered, as a naive event loop would).  Every
 *                    waiter is woken for each connection, one wins accept(),
 *                    the rest get EAGAIN: the thundering herd.
 *   epoll-exclusive  the same with EPOLLEXCLUSIVE (Linux 4.5): one waiter is
 *                    woken -- but the most recently added one first, so an
 *                    idle server hands almost everything to one worker.
 *   reuseport        each worker binds its own socket with SO_REUSEPORT; the
 *                    kernel hashes each connection (addresses and ports) to
 *                    one socket: no herd, and a spread that is only as even
 *                    as the hash.
 * Every wake-up, every accept() that found nothing and every connection is
 * counted per worker slot, in shared memory the master prints at the end.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "kernel.h"
#include "log.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

const char *const accept_mode_names[] = {"accept", "epoll", "epoll-exclusive",
                                         "reuseport", NULL};

enum { BACKLOG = 1024 };

struct server_shared *server_shared_create(void)
{
    /* MAP_SHARED before fork(): the master and every worker see the same
     * pages; it goes away with the last process that maps it. */
    struct server_shared *shared =
        CHECK_PTR(mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                  MAP_FAILED);
    memset(shared, 0, sizeof *shared);
    return shared;
}

static uint64_t now_ns(void) { return clock_nanoseconds(); }

/* ---- Sockets ------------------------------------------------------------- */

static int make_socket(int port, bool reuseport, bool listening, int *bound_port)
{
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    /* SO_REUSEADDR: a restart does not wait for TIME_WAIT to end. */
    CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    if (reuseport)
        CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(fd, (struct sockaddr *)&address, sizeof address));
    if (listening)
        CHECK(listen(fd, BACKLOG));
    socklen_t length = sizeof address;
    CHECK(getsockname(fd, (struct sockaddr *)&address, &length));
    if (bound_port != NULL)
        *bound_port = ntohs(address.sin_port);
    return fd;
}

/* A thread blocked in accept() returns only when a client comes.  To drain,
 * the worker interrupts it with SIGUSR1, whose handler does nothing and is
 * installed without SA_RESTART: accept() then fails with EINTR and the
 * thread sees the drain flag.  (A timeout on the socket would do too, but
 * every timed-out waiter re-queues at the back and spoils the FIFO order
 * the accept mode shows.) */
static void interrupted(int signal_number) { (void)signal_number; }

/* ---- The worker ---------------------------------------------------------- */

static struct {
    int slot;
    const struct server_config *config;
    struct worker_stats *stats;
    int listen_fd;
    int stop_fd; /* eventfd: readable for everyone once draining */
    atomic_bool draining;
} worker;

/* One line per rejected or cut-off request, on stderr, whole (one write). */
static void log_hostile(int fd, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void log_hostile(int fd, const char *format, ...)
{
    if (worker.config->quiet)
        return;
    char peer[64] = "?";
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    char ip[INET_ADDRSTRLEN] = "?";
    if (getpeername(fd, (struct sockaddr *)&address, &length) == 0 &&
        inet_ntop(AF_INET, &address.sin_addr, ip, sizeof ip) != NULL)
        snprintf(peer, sizeof peer, "%s:%d", ip, ntohs(address.sin_port));
    char line[512];
    int n = snprintf(line, sizeof line, "server: worker %d (pid %d): %s: ",
                     worker.slot + 1, (int)getpid(), peer);
    va_list arguments;
    va_start(arguments, format);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, format, arguments);
    va_end(arguments);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nowhere left to report it */
    }
}

/* The D ms of /work?io_ms=D: a read() on a timerfd, which blocks in the
 * kernel until the timer fires -- the thread sleeps exactly as it would
 * waiting for a disk or a database, and another thread can run. */
static void io_wait(uint64_t ms)
{
    static _Thread_local int timer = -1; /* one per thread, for its life */
    if (timer < 0)
        timer = CHECK(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    struct itimerspec when = {.it_value = {.tv_sec = (time_t)(ms / 1000),
                                           .tv_nsec = (long)(ms % 1000) * 1000000}};
    CHECK(timerfd_settime(timer, 0, &when, NULL));
    uint64_t expirations;
    while (read(timer, &expirations, sizeof expirations) < 0)
        if (errno != EINTR)
            die_at(__FILE__, __LINE__, "read(timerfd)", errno);
}

/* Do the request's work, then format its response into out.  Whether the
 * connection stays open is decided after the work: a drain that began
 * meanwhile makes this the connection's last response, and says so. */
static size_t respond(const struct http_parse *parsed, char *out, size_t size,
                      bool *keep_alive)
{
    const struct http_request *r = &parsed->request;
    char body[96];
    const char *text = HTTP_ROOT_BODY;
    if (parsed->status == 0 && r->route == ROUTE_WORK) {
        uint64_t sum = kernel_count(0, r->cpu); /* kept whole: kernel.h */
        if (r->io_ms > 0)
            io_wait(r->io_ms);
        snprintf(body, sizeof body, "counted to %llu, waited %llu ms\n",
                 (unsigned long long)sum, (unsigned long long)r->io_ms);
        text = body;
    }
    *keep_alive = r->keep_alive && !atomic_load(&worker.draining);
    bool tell = *keep_alive && r->minor_version == 0;
    if (parsed->status != 0) /* a 404: well-formed, so it may keep alive */
        return http_response(out, size, parsed->status, *keep_alive, tell,
                             r->head, NULL);
    return http_response(out, size, 200, *keep_alive, tell, r->head, text);
}

/* After an error response: stop sending, then read and discard what the
 * client is still sending for a moment.  Closing a socket with unread bytes
 * makes the kernel send a reset, which can destroy the response before the
 * client has read it (RFC 9112 9.6, nginx's lingering_close). */
static void linger_close(int fd)
{
    shutdown(fd, SHUT_WR);
    char sink[4096];
    double until = clock_seconds() + 0.1;
    for (int rounds = 0; rounds < 64; rounds++) {
        int ms = (int)((until - clock_seconds()) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            break;
        if (recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0)
            break;
    }
    close(fd);
}

static void reject(int fd, const struct http_parse *parsed, size_t have)
{
    log_hostile(fd, "%d %s: %s (%zu bytes read)", parsed->status,
                http_reason(parsed->status), parsed->why, have);
    char out[512];
    size_t length = http_response(out, sizeof out, parsed->status, false, false,
                                  false, NULL);
    send_all(fd, out, length);
    atomic_fetch_add_explicit(&worker.stats->rejected, 1, memory_order_relaxed);
}

static int ms_until(uint64_t deadline_ns)
{
    uint64_t now = now_ns();
    if (now >= deadline_ns)
        return 0;
    return (int)((deadline_ns - now) / 1000000) + 1;
}

/* Thread per connection: this thread reads, parses and answers requests on
 * fd until the client closes, asks to close, idles too long, or the worker
 * drains.  Returns with fd closed. */
static void serve_connection(int fd)
{
    const struct server_config *config = worker.config;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval send_timeout = {.tv_sec = (time_t)config->read_timeout,
                                   .tv_usec = (long)((config->read_timeout -
                                                      (double)(time_t)config->read_timeout) *
                                                     1e6)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    atomic_fetch_add_explicit(&worker.stats->busy, 1, memory_order_relaxed);

    char in[HTTP_HEADER_LIMIT + 1024];
    char out[1024];
    size_t have = 0;
    uint64_t request_started = 0, idle_since = now_ns();
    bool lingering = false;
    for (;;) {
        if (have > 0) {
            struct http_parse parsed = http_parse(in, have);
            if (parsed.status == 0 || parsed.status == 404) {
                bool keep = false;
                size_t length = respond(&parsed, out, sizeof out, &keep);
                bool sent = send_all(fd, out, length);
                atomic_fetch_add_explicit(parsed.status == 0
                                              ? &worker.stats->requests
                                              : &worker.stats->rejected,
                                          1, memory_order_relaxed);
                if (!sent || !keep)
                    break;
                memmove(in, in + parsed.consumed, have - parsed.consumed);
                have -= parsed.consumed;
                request_started = idle_since = now_ns();
                continue; /* a pipelined request may already be here */
            }
            if (parsed.status > 0) {
                reject(fd, &parsed, have);
                lingering = true;
                break;
            }
        }
        /* Wait for more bytes, within the deadline that applies: a request
         * begun must arrive whole within --read-timeout (slowloris sends a
         * byte now and then to hold a thread forever), an idle keep-alive
         * connection is closed after --idle-timeout. */
        bool draining = atomic_load(&worker.draining);
        if (have == 0 && draining)
            break; /* idle while draining: nothing accepted is lost */
        uint64_t deadline =
            have > 0 ? request_started + (uint64_t)(config->read_timeout * 1e9)
                     : idle_since + (uint64_t)(config->idle_timeout * 1e9);
        struct pollfd waits[2] = {{.fd = fd, .events = POLLIN},
                                  {.fd = worker.stop_fd, .events = POLLIN}};
        int ms = ms_until(deadline);
        int ready = ms == 0 ? 0 : poll(waits, have == 0 ? 2 : 1, ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die_at(__FILE__, __LINE__, "poll(connection)", errno);
        if (ready == 0) {
            if (have > 0) {
                struct http_parse timeout = {
                    .status = 408, .why = "slow sender cut off by the read timeout"};
                reject(fd, &timeout, have);
                atomic_fetch_add_explicit(&worker.stats->cut, 1,
                                          memory_order_relaxed);
                lingering = true;
            }
            break;
        }
        if (have == 0 && (waits[1].revents & POLLIN))
            break;
        if (!(waits[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = recv(fd, in + have, sizeof in - have, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (have > 0) {
                log_hostile(fd, "closed mid-request after %zu bytes", have);
                atomic_fetch_add_explicit(&worker.stats->cut, 1,
                                          memory_order_relaxed);
            }
            break;
        }
        if (have == 0)
            request_started = now_ns();
        have += (size_t)n;
    }
    atomic_fetch_sub_explicit(&worker.stats->busy, 1, memory_order_relaxed);
    if (lingering)
        linger_close(fd);
    else
        close(fd);
}

static void count(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Errors accept() may return for one connection that went wrong (it was
 * reset while queued, a limit was hit for a moment): the next one may be
 * fine, so they are counted and the worker goes on. */
static bool transient_accept_error(int error)
{
    return error == ECONNABORTED || error == EPROTO || error == EPERM ||
           error == EMFILE || error == ENFILE || error == ENOBUFS ||
           error == ENOMEM || error == EINTR;
}

/* How many times this thread has gone to sleep in the kernel (voluntary
 * context switches).  The difference across one wait is how many times the
 * thread was woken in it -- including wake-ups after which the kernel found
 * nothing for it and put it back to sleep without returning (a herd that
 * userspace never sees: level-triggered epoll re-checks the socket, and a
 * waiter that comes second finds the connection already taken). */
static uint64_t sleeps(void)
{
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return (uint64_t)usage.ru_nvcsw;
}

static void count_wakeups(uint64_t before)
{
    atomic_fetch_add_explicit(&worker.stats->wakeups, sleeps() - before,
                              memory_order_relaxed);
}

/* Take the next connection the way --accept says; -1 once draining. */
static int take_connection(int epoll_fd)
{
    struct worker_stats *stats = worker.stats;
    for (;;) {
        if (atomic_load(&worker.draining))
            return -1;
        uint64_t before = sleeps();
        if (epoll_fd < 0) { /* accept, reuseport: a blocking accept() */
            /* EXERCISE 11: the accept loop: take the next connection with a
             * blocking accept4() on worker.listen_fd (close-on-exec), count
             * the wake-ups and the accept, and return it; on an error for
             * one connection (transient_accept_error) try again, after a
             * millisecond unless a signal interrupted it (EINTR)
             * instead: return -1; */
            int fd = accept4(worker.listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                count_wakeups(before);
                count(&stats->accepts);
                return fd;
            }
            if (!transient_accept_error(errno))
                die_at(__FILE__, __LINE__, "accept4()", errno);
            if (errno != EINTR)
                clock_sleep(0.001);
            continue;
        }
        struct epoll_event events[2];
        int n = epoll_wait(epoll_fd, events, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_at(__FILE__, __LINE__, "epoll_wait()", errno);
        count_wakeups(before);
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == worker.stop_fd)
                return -1;
            int fd = accept4(worker.listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                count(&stats->accepts);
                return fd;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                count(&stats->failed_accepts); /* returned for nothing */
                continue;
            }
            if (!transient_accept_error(errno))
                die_at(__FILE__, __LINE__, "accept4()", errno);
        }
    }
}

static int new_epoll(bool exclusive)
{
    int epoll_fd = CHECK(epoll_create1(EPOLL_CLOEXEC));
    struct epoll_event listen_event = {
        .events = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0u),
        .data.fd = worker.listen_fd};
    CHECK(epoll_ctl(epoll_fd, EPOLL_CTL_ADD, worker.listen_fd, &listen_event));
    struct epoll_event stop_event = {.events = EPOLLIN, .data.fd = worker.stop_fd};
    CHECK(epoll_ctl(epoll_fd, EPOLL_CTL_ADD, worker.stop_fd, &stop_event));
    return epoll_fd;
}

static void *connection_thread(void *arg)
{
    atomic_bool *done = arg;
    int mode = worker.config->accept_mode;
    /* In the epoll modes every thread has its own epoll instance on the
     * shared socket: each is one more waiter the kernel may wake. */
    int epoll_fd = -1;
    if (mode == ACCEPT_EPOLL || mode == ACCEPT_EPOLL_EXCLUSIVE)
        epoll_fd = new_epoll(mode == ACCEPT_EPOLL_EXCLUSIVE);
    for (;;) {
        int fd = take_connection(epoll_fd);
        if (fd < 0)
            break;
        serve_connection(fd);
    }
    if (epoll_fd >= 0)
        close(epoll_fd);
    atomic_store(done, true);
    return NULL;
}

/* ---- --threads 0: one event loop per worker (what nginx's worker is) ----
 * One thread holds every connection, non-blocking, and reacts to whichever
 * is ready.  A connection costs a small struct instead of a thread and its
 * stack, so a keep-alive client that idles holds no thread hostage -- but
 * anything that blocks (here: /work?io_ms) stops every connection of the
 * worker at once.  nginx hands such waits to a thread pool (aio threads). */

struct connection {
    int fd;
    size_t have;
    size_t out_length, out_sent;
    bool close_after; /* close once the response is out */
    bool error_close; /* ... with a lingering close */
    bool lingering;   /* answered, write side shut: discarding input */
    bool want_output; /* registered for EPOLLOUT (a send was cut short) */
    uint64_t linger_until;
    uint64_t request_started, idle_since;
    char in[HTTP_HEADER_LIMIT + 1024];
    char out[1024];
};

enum { LOOP_MAX_FDS = 65536 };

struct event_loop {
    int epoll_fd;
    struct connection **by_fd;
    int open;
    int highest_fd;       /* the sweep looks no further */
    uint64_t last_sweep;  /* ns */
};

static void loop_want_output(struct event_loop *loop, struct connection *c,
                             bool want)
{
    if (c->want_output == want)
        return; /* one epoll_ctl per change, not one per response */
    c->want_output = want;
    struct epoll_event event = {.events = EPOLLIN | (want ? EPOLLOUT : 0u),
                                .data.fd = c->fd};
    CHECK(epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, c->fd, &event));
}

static void loop_close(struct event_loop *loop, struct connection *c)
{
    if (c->error_close && !c->lingering) {
        /* The lingering close of linger_close(), without blocking the
         * loop: shut the write side, discard what comes for 0.1 s. */
        shutdown(c->fd, SHUT_WR);
        c->lingering = true;
        c->linger_until = now_ns() + 100000000ull;
        c->out_length = c->out_sent = 0;
        loop_want_output(loop, c, false);
        return;
    }
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    loop->by_fd[c->fd] = NULL;
    loop->open--;
    atomic_fetch_sub_explicit(&worker.stats->busy, 1, memory_order_relaxed);
    free(c);
}

/* Send what is pending; false if the connection is finished (closed). */
static bool loop_flush(struct event_loop *loop, struct connection *c)
{
    while (c->out_sent < c->out_length) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_length - c->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_want_output(loop, c, true);
            return true;
        }
        if (n <= 0) {
            c->error_close = false;
            loop_close(loop, c);
            return false;
        }
        c->out_sent += (size_t)n;
    }
    if (c->out_length > 0 && c->close_after) {
        loop_close(loop, c);
        return false;
    }
    if (c->out_length > 0)
        loop_want_output(loop, c, false);
    c->out_length = c->out_sent = 0;
    return true;
}

/* Answer every complete request in the buffer (pipelining), one response
 * pending at a time. */
static void loop_process(struct event_loop *loop, struct connection *c)
{
    while (c->have > 0 && c->out_length == 0) {
        struct http_parse parsed = http_parse(c->in, c->have);
        if (parsed.status < 0)
            return;
        if (parsed.status == 0 || parsed.status == 404) {
            bool keep = false;
            c->out_length = respond(&parsed, c->out, sizeof c->out, &keep);
            c->close_after = !keep;
            count(parsed.status == 0 ? &worker.stats->requests
                                     : &worker.stats->rejected);
            memmove(c->in, c->in + parsed.consumed, c->have - parsed.consumed);
            c->have -= parsed.consumed;
            c->request_started = c->idle_since = now_ns();
        } else {
            log_hostile(c->fd, "%d %s: %s (%zu bytes read)", parsed.status,
                        http_reason(parsed.status), parsed.why, c->have);
            c->out_length = http_response(c->out, sizeof c->out, parsed.status,
                                          false, false, false, NULL);
            c->close_after = c->error_close = true;
            c->have = 0;
            count(&worker.stats->rejected);
        }
        if (!loop_flush(loop, c))
            return;
    }
}

static void loop_read(struct event_loop *loop, struct connection *c)
{
    if (c->lingering) {
        char sink[4096];
        ssize_t n;
        while ((n = recv(c->fd, sink, sizeof sink, MSG_DONTWAIT)) > 0)
            ;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            loop_close(loop, c);
        return;
    }
    for (;;) {
        if (c->have == sizeof c->in)
            break; /* the parser reports the limit before this fills */
        ssize_t n = recv(c->fd, c->in + c->have, sizeof c->in - c->have,
                         MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            if (c->have > 0) {
                log_hostile(c->fd, "closed mid-request after %zu bytes", c->have);
                count(&worker.stats->cut);
            }
            loop_close(loop, c);
            return;
        }
        if (c->have == 0)
            c->request_started = now_ns();
        size_t room = sizeof c->in - c->have;
        c->have += (size_t)n;
        if ((size_t)n < room)
            break; /* drained: level-triggered epoll reports any more */
    }
    loop_process(loop, c);
}

static void loop_accept(struct event_loop *loop)
{
    for (int taken = 0;; taken++) {
        int fd = accept4(worker.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (taken == 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                count(&worker.stats->failed_accepts);
            if (errno == EAGAIN || errno == EWOULDBLOCK || transient_accept_error(errno))
                return;
            die_at(__FILE__, __LINE__, "accept4()", errno);
        }
        if (fd >= LOOP_MAX_FDS) {
            close(fd);
            continue;
        }
        count(&worker.stats->accepts);
        if (fd > loop->highest_fd)
            loop->highest_fd = fd;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection *c = xcalloc(1, sizeof *c);
        c->fd = fd;
        c->idle_since = now_ns();
        loop->by_fd[fd] = c;
        loop->open++;
        atomic_fetch_add_explicit(&worker.stats->busy, 1, memory_order_relaxed);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        CHECK(epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event));
    }
}

/* Every 100 ms: cut slow senders, close idle connections (and, draining,
 * every connection with nothing pending). */
static void loop_sweep(struct event_loop *loop, bool draining)
{
    uint64_t now = now_ns();
    const struct server_config *config = worker.config;
    for (int fd = 0; fd <= loop->highest_fd && loop->open > 0; fd++) {
        struct connection *c = loop->by_fd[fd];
        if (c != NULL && c->lingering) {
            if (now > c->linger_until)
                loop_close(loop, c);
            continue;
        }
        if (c == NULL || c->out_length > 0)
            continue;
        if (c->have > 0 &&
            now - c->request_started > (uint64_t)(config->read_timeout * 1e9)) {
            log_hostile(c->fd, "408 %s: slow sender cut off by the read timeout "
                               "(%zu bytes read)", http_reason(408), c->have);
            c->out_length = http_response(c->out, sizeof c->out, 408, false, false,
                                          false, NULL);
            c->close_after = c->error_close = true;
            c->have = 0;
            count(&worker.stats->rejected);
            count(&worker.stats->cut);
            loop_flush(loop, c);
        } else if (c->have == 0 &&
                   (draining ||
                    now - c->idle_since > (uint64_t)(config->idle_timeout * 1e9))) {
            loop_close(loop, c);
        }
    }
}

static void *event_loop_thread(void *unused)
{
    (void)unused;
    struct event_loop loop = {
        .epoll_fd = new_epoll(worker.config->accept_mode == ACCEPT_EPOLL_EXCLUSIVE),
        .by_fd = xcalloc(LOOP_MAX_FDS, sizeof(struct connection *)),
    };
    bool draining = false;
    for (;;) {
        struct epoll_event events[64];
        uint64_t before = sleeps();
        int n = epoll_wait(loop.epoll_fd, events, 64, 100);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_at(__FILE__, __LINE__, "epoll_wait()", errno);
        for (int i = 0; i < n; i++)
            if (events[i].data.fd == worker.listen_fd)
                count_wakeups(before); /* woken for a connection */
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == worker.stop_fd) {
                if (!draining) { /* stop taking connections */
                    epoll_ctl(loop.epoll_fd, EPOLL_CTL_DEL, worker.listen_fd, NULL);
                    epoll_ctl(loop.epoll_fd, EPOLL_CTL_DEL, worker.stop_fd, NULL);
                    draining = true;
                }
            } else if (fd == worker.listen_fd) {
                loop_accept(&loop);
            } else if (loop.by_fd[fd] != NULL) {
                struct connection *c = loop.by_fd[fd];
                if (events[i].events & EPOLLOUT) {
                    if (!loop_flush(&loop, c))
                        continue;
                    loop_process(&loop, c);
                    if (loop.by_fd[fd] == NULL)
                        continue;
                }
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    loop_read(&loop, c);
            }
        }
        /* The timeouts are coarse (0.1 s): look at them ten times a
         * second, not after every event. */
        uint64_t now = now_ns();
        if (draining || now - loop.last_sweep >= 100000000ull) {
            loop_sweep(&loop, draining);
            loop.last_sweep = now;
        }
        if (draining && loop.open == 0)
            break;
    }
    close(loop.epoll_fd);
    free(loop.by_fd);
    return NULL;
}

/* A worker's threads get stacks of their own, mapped here, rather than
 * glibc's cached ones.  Each thread costs its stack: 2 MiB of address
 * space (glibc's default is 8), touched only as deep as it goes (about
 * 12 KiB here; the sanitizers' thread-local data needs up to 1 MiB), which
 * is the price of a thread per connection.  (It also keeps ThreadSanitizer
 * sane: after fork() glibc hands the child the stacks of the parent's
 * other threads, such as the watchdog's, for reuse, and a new thread at
 * the same address looks to TSan like a thread started twice.) */
enum { THREAD_STACK = 2 * 1024 * 1024 };

static void *start_thread(pthread_t *id, void *(*fn)(void *), void *arg)
{
    void *stack = CHECK_PTR(mmap(NULL, THREAD_STACK, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0),
                            MAP_FAILED);
    pthread_attr_t attributes;
    CHECK_PT(pthread_attr_init(&attributes));
    CHECK_PT(pthread_attr_setstack(&attributes, stack, THREAD_STACK));
    CHECK_PT(pthread_create(id, &attributes, fn, arg));
    CHECK_PT(pthread_attr_destroy(&attributes));
    return stack;
}

/* What a worker needs from the master; the copy in the child is its own. */
struct worker_start {
    int slot;
    const struct server_config *config;
    struct server_shared *shared;
    int listen_fd;
};

/* A worker process: its threads (or its loop) serve until SIGTERM, then
 * drain and exit 0. */
static int worker_run(void *arg)
{
    const struct worker_start *start = arg;
    worker.slot = start->slot;
    worker.config = start->config;
    worker.stats = &start->shared->slot[start->slot];
    /* SIGTERM means "drain": read it from a signalfd (blocked first, before
     * any thread exists, so every thread inherits the block). */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &signals, NULL));
    int signal_fd = CHECK(signalfd(-1, &signals, SFD_CLOEXEC));
    worker.stop_fd = CHECK(eventfd(0, EFD_CLOEXEC));
    int mode = start->config->accept_mode;
    if (mode == ACCEPT_REUSEPORT) {
        /* Its own socket in the port's SO_REUSEPORT group. */
        worker.listen_fd = make_socket(start->shared->port, true, true, NULL);
        if (start->config->threads == 0)
            CHECK(fcntl(worker.listen_fd, F_SETFL, O_NONBLOCK));
    } else {
        worker.listen_fd = start->listen_fd;
    }
    struct sigaction action = {.sa_handler = interrupted}; /* no SA_RESTART */
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL));
    int threads = start->config->threads;
    pthread_t *ids = xcalloc((size_t)(threads > 0 ? threads : 1), sizeof *ids);
    atomic_bool *done = xcalloc((size_t)(threads > 0 ? threads : 1), sizeof *done);
    void **stacks = xcalloc((size_t)(threads > 0 ? threads : 1), sizeof *stacks);
    atomic_store(&worker.stats->pid, getpid());
    atomic_store(&worker.stats->ready_ns, now_ns());
    if (threads == 0) {
        stacks[0] = start_thread(&ids[0], event_loop_thread, NULL);
    } else {
        for (int i = 0; i < threads; i++)
            stacks[i] = start_thread(&ids[i], connection_thread, &done[i]);
    }
    struct signalfd_siginfo info;
    while (read(signal_fd, &info, sizeof info) < 0)
        if (errno != EINTR)
            die_at(__FILE__, __LINE__, "read(signalfd)", errno);
    atomic_store(&worker.draining, true);
    uint64_t one = 1;
    CHECK(write(worker.stop_fd, &one, sizeof one));
    /* Threads in a blocking accept() need a nudge (see interrupted()); one
     * may be just about to enter accept(), so nudge again until all end. */
    if (threads > 0 && (mode == ACCEPT_BLOCKING || mode == ACCEPT_REUSEPORT)) {
        for (bool all_done = false; !all_done; clock_sleep(0.005)) {
            all_done = true;
            for (int i = 0; i < threads; i++)
                if (!atomic_load(&done[i])) {
                    all_done = false;
                    pthread_kill(ids[i], SIGUSR1);
                }
        }
    }
    for (int i = 0; i < (threads > 0 ? threads : 1); i++) {
        CHECK_PT(pthread_join(ids[i], NULL));
        munmap(stacks[i], THREAD_STACK);
    }
    free(stacks);
    free(ids);
    free(done);
    return EXIT_OK;
}

/* ---- The master ---------------------------------------------------------- */

static struct {
    int drain_fd;          /* eventfd: written on the first SIGTERM/SIGINT */
    atomic_int signals;    /* how many arrived */
    atomic_int first_signal;
} master;

/* The watchdog's signal hook (watchdog.h): the first SIGINT/SIGTERM/SIGHUP
 * starts the drain and the watchdog keeps watching (--timeout still bounds
 * the run); a second one is not handled here, so the watchdog ends the run
 * its usual way: every process killed and reaped, exit 128 + N. */
static bool on_signal(void *unused, int signal_number)
{
    (void)unused;
    if (atomic_fetch_add(&master.signals, 1) > 0)
        return false;
    atomic_store(&master.first_signal, signal_number);
    uint64_t one = 1;
    return write(master.drain_fd, &one, sizeof one) == sizeof one;
}

struct master_workers {
    struct proc proc[SERVER_MAX_WORKERS];
    int pidfd[SERVER_MAX_WORKERS];
    uint64_t started_ns[SERVER_MAX_WORKERS];
    struct worker_start start[SERVER_MAX_WORKERS];
};

static void start_worker(struct master_workers *w, int slot)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%d", (slot + 1) % 100);
    w->started_ns[slot] = now_ns();
    /* The child keeps stdio and the listening socket: the one thing a
     * pre-forked worker inherits on purpose (proc.h closes the rest). */
    proc_start_keeping(&w->proc[slot], name, worker_run, &w->start[slot],
                       PROC_FDS(w->start[slot].listen_fd));
    /* A pidfd becomes readable when the process ends: the master sleeps in
     * one poll() on all of them and on the drain request. */
    w->pidfd[slot] = (int)CHECK(syscall(SYS_pidfd_open, w->proc[slot].pid, 0));
}

void serve_print_summary(const struct server_shared *shared, int workers,
                         FILE *out)
{
    uint64_t requests = 0, rejected = 0, cut = 0, accepts = 0, wakeups = 0,
             failed = 0;
    for (int i = 0; i < workers; i++) {
        const struct worker_stats *s = &shared->slot[i];
        requests += s->requests;
        rejected += s->rejected;
        cut += s->cut;
        accepts += s->accepts;
        wakeups += s->wakeups;
        failed += s->failed_accepts;
    }
    fprintf(out,
            "served %llu requests, rejected %llu (4xx/5xx, %llu of them cut "
            "off or truncated), on %llu connections; %llu worker%s respawned\n",
            (unsigned long long)requests, (unsigned long long)rejected,
            (unsigned long long)cut, (unsigned long long)accepts,
            (unsigned long long)shared->respawns,
            shared->respawns == 1 ? "" : "s");
    for (int i = 0; i < workers; i++) {
        const struct worker_stats *s = &shared->slot[i];
        fprintf(out,
                "  worker %d: %llu connections, %llu wake-ups (%llu found "
                "nothing), %llu requests\n",
                i + 1, (unsigned long long)s->accepts,
                (unsigned long long)s->wakeups,
                (unsigned long long)s->failed_accepts,
                (unsigned long long)s->requests);
    }
    if (accepts > 0)
        fprintf(out, "wake-ups per connection: %.2f\n",
                (double)wakeups / (double)accepts);
    fflush(out);
}

int serve(const struct server_config *config, struct server_shared *shared)
{
    int workers = config->workers;
    bool reuseport = config->accept_mode == ACCEPT_REUSEPORT;
    /* reuseport: the master's socket is bound but never listens.  It holds
     * the port, so a replacement worker can join the group, while the
     * kernel hands connections only to the workers' listening sockets. */
    int port = 0;
    int listen_fd = make_socket(config->port, reuseport, !reuseport, &port);
    if (config->accept_mode != ACCEPT_BLOCKING && !reuseport)
        CHECK(fcntl(listen_fd, F_SETFL, O_NONBLOCK)); /* woken, maybe for nothing */
    atomic_store(&shared->port, port);
    atomic_store(&shared->workers, workers);

    master.drain_fd = CHECK(eventfd(0, EFD_CLOEXEC));
    int signal_fd = -1;
    if (config->own_signals) {
        /* Run as a child of an experiment: no watchdog thread here, so the
         * master reads SIGTERM itself. */
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGHUP);
        sigaddset(&signals, SIGINT);
        CHECK_PT(pthread_sigmask(SIG_BLOCK, &signals, NULL));
        signal_fd = CHECK(signalfd(-1, &signals, SFD_CLOEXEC));
    } else {
        watchdog_set_on_signal(on_signal, NULL);
    }

    if (config->ready_fd >= 0) {
        CHECK(write(config->ready_fd, &port, sizeof port));
    } else {
        printf("listening on 127.0.0.1:%d\n", port);
        if (config->threads > 0)
            printf("master pid %d: %d worker%s x %d thread%s (a thread per "
                   "connection), --accept %s\n",
                   (int)getpid(), workers, workers == 1 ? "" : "s",
                   config->threads, config->threads == 1 ? "" : "s",
                   accept_mode_names[config->accept_mode]);
        else
            printf("master pid %d: %d worker%s x 1 epoll event loop, --accept %s\n",
                   (int)getpid(), workers, workers == 1 ? "" : "s",
                   accept_mode_names[config->accept_mode]);
        fflush(stdout);
    }

    static struct master_workers w; /* large; one master per process */
    for (int i = 0; i < workers; i++) {
        w.start[i] = (struct worker_start){.slot = i, .config = config,
                                           .shared = shared,
                                           .listen_fd = listen_fd};
        start_worker(&w, i);
    }

    int status = EXIT_OK;
    int quick_deaths = 0;
    for (;;) {
        struct pollfd waits[2 + SERVER_MAX_WORKERS];
        waits[0] = (struct pollfd){.fd = master.drain_fd, .events = POLLIN};
        waits[1] = (struct pollfd){.fd = signal_fd, .events = POLLIN};
        for (int i = 0; i < workers; i++)
            waits[2 + i] = (struct pollfd){.fd = w.pidfd[i], .events = POLLIN};
        int ready = poll(waits, (nfds_t)(2 + workers), -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            die_at(__FILE__, __LINE__, "poll(master)", errno);
        if (waits[1].revents & POLLIN) {
            struct signalfd_siginfo info;
            if (read(signal_fd, &info, sizeof info) == sizeof info)
                atomic_store(&master.first_signal, (int)info.ssi_signo);
            break;
        }
        if (waits[0].revents & POLLIN)
            break;
        for (int i = 0; i < workers; i++) {
            if (!(waits[2 + i].revents & POLLIN))
                continue;
            uint64_t died = now_ns();
            pid_t old_pid = w.proc[i].pid;
            proc_join(&w.proc[i], -1);
            close(w.pidfd[i]);
            char why[64];
            proc_describe_exitcode(w.proc[i].exitcode, why, sizeof why);
            /* A worker that cannot even start (its port taken, ...) would
             * be respawned forever: five quick deaths in a row end it. */
            quick_deaths = died - w.started_ns[i] < 1000000000ull ? quick_deaths + 1 : 0;
            if (quick_deaths >= 5) {
                fprintf(stderr, "server: worker %d (pid %d) %s, the fifth quick "
                                "death in a row; giving up\n",
                        i + 1, (int)old_pid, why);
                status = EXIT_SYSTEM;
                goto drain;
            }
            atomic_store(&shared->last_death_ns, died);
            atomic_store(&shared->slot[i].ready_ns, 0);
            start_worker(&w, i);
            atomic_fetch_add(&shared->respawns, 1);
            if (config->ready_fd < 0) {
                printf("master: worker %d (pid %d) %s; respawned as pid %d\n",
                       i + 1, (int)old_pid, why, (int)w.proc[i].pid);
                fflush(stdout);
            }
        }
    }
drain:
    if (config->ready_fd < 0) {
        int signal_number = atomic_load(&master.first_signal);
        const char *name = signal_number > 0 ? sigabbrev_np(signal_number) : NULL;
        if (name != NULL)
            printf("master: SIG%s: draining %d worker%s (SIGTERM to each)\n",
                   name, workers, workers == 1 ? "" : "s");
        else
            printf("master: draining %d worker%s (SIGTERM to each)\n", workers,
                   workers == 1 ? "" : "s");
        fflush(stdout);
    }
    for (int i = 0; i < workers; i++)
        if (!w.proc[i].joined)
            proc_signal(&w.proc[i], SIGTERM);
    for (int i = 0; i < workers; i++) {
        if (w.proc[i].joined)
            continue;
        proc_join(&w.proc[i], -1);
        close(w.pidfd[i]);
        /* A worker forked a moment ago may get the SIGTERM before it has
         * blocked it (proc.h gives a child the default action first): it
         * dies of it, but it had not begun to accept, so nothing is lost.
         * Once it has blocked SIGTERM, SIGTERM can no longer kill it. */
        if (w.proc[i].exitcode == -SIGTERM &&
            atomic_load(&shared->slot[i].ready_ns) == 0)
            continue;
        if (w.proc[i].exitcode != 0) {
            char why[64];
            fprintf(stderr, "server: worker %d (pid %d) %s while draining\n",
                    i + 1, (int)w.proc[i].pid,
                    proc_describe_exitcode(w.proc[i].exitcode, why, sizeof why));
            if (status == EXIT_OK)
                status = EXIT_WRONG;
        }
    }
    close(listen_fd);
    /* master.drain_fd stays open: the watchdog thread may still write it
     * if another signal comes now (it then ends the run itself). */
    if (signal_fd >= 0)
        close(signal_fd);
    if (config->ready_fd < 0)
        serve_print_summary(shared, workers, stdout);
    return status;
}
