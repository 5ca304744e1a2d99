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
 * One thread per connection: each worker keeps one connection open for its
 * whole run, so W workers get W threads waiting in parallel, and a request
 * is never delayed by another worker's.
 */
#define _GNU_SOURCE
#include "delay_server.h"

#include "checked.h"
#include "proc.h"
#include "timing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
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

static void *serve_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct delay_request request;
    while (receive_all(fd, &request, sizeof request)) {
        clock_sleep(request.delay_us / 1e6); /* the "remote" work */
        struct delay_reply reply = {.task = request.task,
                                    .answer = delay_answer(request.task)};
        if (!send_all(fd, &reply, sizeof reply))
            break;
    }
    CHECK(close(fd));
    return NULL;
}

static int server_main(void *arg)
{
    int listener = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die_at(__FILE__, __LINE__, "accept", errno);
        }
        pthread_t thread;
        pthread_attr_t attributes;
        CHECK_PT(pthread_attr_init(&attributes));
        CHECK_PT(pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED));
        CHECK_PT(pthread_create(&thread, &attributes, serve_connection,
                                (void *)(intptr_t)fd));
        CHECK_PT(pthread_attr_destroy(&attributes));
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
    proc_start(&server->process, "delay-server", server_main,
               (void *)(intptr_t)listener);
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
