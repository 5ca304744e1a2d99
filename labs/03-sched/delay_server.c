/* delay_server.c: a loopback server that answers each request after a
 * delay -- honest blocking IO without any outside host (E13).
 *
 * A client sends {task, delay in µs} and blocks in recv() until the answer
 * comes, exactly as it would on a call to a remote service: the thread is
 * asleep in the kernel, off the CPU, and (under the emulated GIL) has let
 * the lock go.  The server is a child process (proc_start), like a server
 * on another machine: registered, so the watchdog and Ctrl+C kill and reap
 * it on every path, and stopped by the lab when the experiment ends.
 *
 * Each worker keeps one connection open for its whole run; the server
 * keeps every request's due time and answers each when it falls due, so W
 * waiting workers wait in parallel and no request is delayed by another.
 */
#define _GNU_SOURCE
#include "delay_server.h"

#include "checked.h"
#include "proc.h"
#include "timing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* recv/send all of `size` bytes; false when the peer closed. */
static bool receive_all(int fd, void *buffer, size_t size)
{
    for (size_t got = 0; got < size;) {
        ssize_t n = recv(fd, (char *)buffer + got, size - got, 0);
        if (n == 0)
            return false;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECONNRESET)
                return false;
            die_at(__FILE__, __LINE__, "recv", errno);
        }
        got += (size_t)n;
    }
    return true;
}

static bool send_all(int fd, const void *buffer, size_t size)
{
    for (size_t sent = 0; sent < size;) {
        ssize_t n = send(fd, (const char *)buffer + sent, size - sent,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return false;
            die_at(__FILE__, __LINE__, "send", errno);
        }
        sent += (size_t)n;
    }
    return true;
}

/* One event loop (poll), no threads: the server is forked from a program
 * that already runs threads (the watchdog), and a child of a threaded
 * process should not start threads of its own (ThreadSanitizer refuses
 * to, and only async-signal-safe calls are promised to work there).  Each
 * client has at most one request in flight (it waits for the answer), so
 * the state is one due time per connection. */
enum { MAX_CLIENTS = 256 };

struct client {
    int fd;
    bool pending;
    uint64_t due_ns;
    struct delay_request request;
};

static int server_main(void *arg)
{
    int listener = (int)(intptr_t)arg;
    static struct client clients[MAX_CLIENTS];
    int count = 0;
    for (;;) {
        /* Answer every request whose delay is over; find the next due. */
        uint64_t now = clock_nanoseconds(), next = UINT64_MAX;
        for (int i = 0; i < count; i++) {
            struct client *c = &clients[i];
            if (!c->pending)
                continue;
            if (c->due_ns <= now) {
                struct delay_reply reply = {.task = c->request.task,
                                            .answer = delay_answer(c->request.task)};
                c->pending = false;
                if (!send_all(c->fd, &reply, sizeof reply)) {
                    CHECK(close(c->fd));
                    clients[i--] = clients[--count];
                }
            } else if (c->due_ns < next) {
                next = c->due_ns;
            }
        }
        struct pollfd fds[MAX_CLIENTS + 1];
        fds[0] = (struct pollfd){.fd = listener, .events = POLLIN};
        for (int i = 0; i < count; i++)
            fds[i + 1] = (struct pollfd){.fd = clients[i].fd,
                                         .events = clients[i].pending ? 0 : POLLIN};
        int timeout_ms = -1;
        if (next != UINT64_MAX) {
            now = clock_nanoseconds();
            timeout_ms = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
        }
        /* poll's ms granularity would round a 1.2 ms delay up to 2 ms:
         * sleep the sub-ms remainder precisely instead. */
        if (timeout_ms > 0 && next - now < 1000000u) {
            clock_sleep((double)(next - now) / 1e9);
            timeout_ms = 0;
        } else if (timeout_ms > 0) {
            timeout_ms -= 1; /* wake a little early, then the branch above */
        }
        int ready = poll(fds, (nfds_t)count + 1, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            die_at(__FILE__, __LINE__, "poll", errno);
        }
        for (int i = count - 1; i >= 0; i--) {
            if (!(fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct client *c = &clients[i];
            if (!receive_all(c->fd, &c->request, sizeof c->request)) {
                CHECK(close(c->fd));
                clients[i] = clients[--count];
                continue;
            }
            c->pending = true;
            c->due_ns = clock_nanoseconds() + (uint64_t)c->request.delay_us * 1000u;
        }
        if ((fds[0].revents & POLLIN) && count < MAX_CLIENTS) {
            int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                clients[count++] = (struct client){.fd = fd};
            else if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
                die_at(__FILE__, __LINE__, "accept", errno);
        }
    }
}

void delay_server_start(struct delay_server *server)
{
    /* Listen before the fork: once this returns, a client can connect
     * (the kernel queues it until the child accepts). */
    int listener = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = 0}; /* any free port */
    CHECK(bind(listener, (struct sockaddr *)&address, sizeof address));
    CHECK(listen(listener, 256));
    socklen_t length = sizeof address;
    CHECK(getsockname(listener, (struct sockaddr *)&address, &length));
    server->port = ntohs(address.sin_port);
    /* A child keeps only the descriptors it is given (proc.h). */
    proc_start_keeping(&server->process, "delay-server", server_main,
                       (void *)(intptr_t)listener, &listener, 1);
    CHECK(close(listener)); /* the child has its own copy */
}

void delay_server_stop(struct delay_server *server)
{
    proc_signal(&server->process, SIGTERM);
    proc_join(&server->process, -1);
}

int delay_connect(int port)
{
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                  .sin_port = htons((uint16_t)port)};
    CHECK(connect(fd, (struct sockaddr *)&address, sizeof address));
    int one = 1; /* small messages: send each at once (no Nagle delay) */
    CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
    return fd;
}

bool delay_call(int fd, uint32_t task, double delay_ms)
{
    struct delay_request request = {.task = task,
                                    .delay_us = (uint32_t)(delay_ms * 1000)};
    struct delay_reply reply;
    if (!send_all(fd, &request, sizeof request) ||
        !receive_all(fd, &reply, sizeof reply)) /* blocks here: the IO wait */
        return false;
    return reply.task == task && reply.answer == delay_answer(task);
}
