/* client.c: a closed-loop HTTP/1.1 load client -- C connections, each
 * sending its next request only when the previous one was answered.
 *
 * Closed loop means the load adapts to the server: a slow server gets
 * fewer requests per second, not a growing queue, so the figures are
 * "what C clients that wait for answers get".  Exactly --requests requests
 * are made in all (each thread takes the next ticket from one counter);
 * each one is either answered (2xx) or counted as an error, and has a
 * deadline (--request-timeout), so a run is bounded in count and in time.
 * Each latency is taken on the monotonic clock from just before the
 * request is sent (or the connection opened, when there is one connection
 * per request, as ab does) to the last byte of the answer.  Nothing here is
 * specific to this lab's server: it speaks plain HTTP/1.1 with
 * Content-Length (nginx, CPython's http.server), and it is the same client
 * for every peer in the bench.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "timing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

bool client_parse_url(const char *url, struct client_config *config, char *why,
                      size_t why_size)
{
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(why, why_size, "'%s' does not start with http://", url);
        return false;
    }
    const char *host = url + 7;
    const char *slash = strchr(host, '/');
    const char *colon = memchr(host, ':', slash ? (size_t)(slash - host) : strlen(host));
    size_t host_length = colon ? (size_t)(colon - host)
                               : slash ? (size_t)(slash - host) : strlen(host);
    if (host_length == 0 || host_length >= sizeof config->host) {
        snprintf(why, why_size, "'%s' has no host", url);
        return false;
    }
    memcpy(config->host, host, host_length);
    config->host[host_length] = '\0';
    if (strcmp(config->host, "localhost") == 0)
        strcpy(config->host, "127.0.0.1");
    struct in_addr address;
    if (inet_pton(AF_INET, config->host, &address) != 1) {
        snprintf(why, why_size, "'%s': the host must be an IPv4 address or "
                                "localhost", url);
        return false;
    }
    config->port = 80;
    if (colon != NULL) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || port < 1 || port > 65535 ||
            (*end != '\0' && *end != '/')) {
            snprintf(why, why_size, "'%s': the port is not 1 to 65535", url);
            return false;
        }
        config->port = (int)port;
    }
    const char *path = slash ? slash : "/";
    if (strlen(path) >= sizeof config->path) {
        snprintf(why, why_size, "'%s': the path is too long", url);
        return false;
    }
    strcpy(config->path, path);
    return true;
}

/* ---- One exchange -------------------------------------------------------- */

enum outcome { OUT_OK, OUT_BAD_STATUS, OUT_TIMEOUT, OUT_CLOSED, OUT_REFUSED };

static void set_timeouts(int fd, double seconds)
{
    struct timeval t = {.tv_sec = (time_t)seconds,
                        .tv_usec = (long)((seconds - (double)(time_t)seconds) * 1e6)};
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t));
    /* On Linux SO_SNDTIMEO also bounds connect(). */
    CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t));
}

static int open_connection(const struct client_config *config,
                           const struct sockaddr_in *address)
{
    int fd = CHECK(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    set_timeouts(fd, config->request_timeout);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (connect(fd, (const struct sockaddr *)address, sizeof *address) < 0) {
        if (errno == EINTR)
            continue;
        close(fd);
        return -1;
    }
    return fd;
}

/* Read one response; *keep: the connection may carry the next request. */
static enum outcome read_response(int fd, char *buf, size_t size, bool *keep)
{
    size_t have = 0;
    char *end = NULL;
    *keep = false;
    while (end == NULL) {
        if (have == size - 1)
            return OUT_CLOSED; /* headers larger than we accept */
        ssize_t n = recv(fd, buf + have, size - 1 - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return OUT_TIMEOUT;
        if (n <= 0)
            return OUT_CLOSED;
        have += (size_t)n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t header_length = (size_t)(end - buf) + 4;
    int minor = 0, status = 0;
    if (sscanf(buf, "HTTP/1.%d %d", &minor, &status) != 2)
        return OUT_CLOSED;
    long long content_length = -1;
    bool close_token = false, keep_token = false, chunked = false;
    for (char *line = strstr(buf, "\r\n") + 2; line < end;) {
        char *next = strstr(line, "\r\n");
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = strtoll(line + 15, NULL, 10);
        else if (strncasecmp(line, "Connection:", 11) == 0) {
            close_token = strcasestr(line, "close") != NULL && strcasestr(line, "close") < next;
            keep_token = strcasestr(line, "keep-alive") != NULL &&
                         strcasestr(line, "keep-alive") < next;
        } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
            chunked = true;
        line = next + 2;
    }
    if (chunked)
        return OUT_CLOSED; /* not spoken here; no peer of the bench uses it */
    size_t body = have - header_length;
    if (content_length >= 0) {
        while ((long long)body < content_length) {
            char sink[16384];
            size_t want = (size_t)(content_length - (long long)body);
            ssize_t n = recv(fd, sink, want < sizeof sink ? want : sizeof sink, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return OUT_TIMEOUT;
            if (n <= 0)
                return OUT_CLOSED;
            body += (size_t)n;
        }
        *keep = minor >= 1 ? !close_token : keep_token;
    } else {
        /* No length: the body ends when the server closes. */
        for (;;) {
            char sink[16384];
            ssize_t n = recv(fd, sink, sizeof sink, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return OUT_TIMEOUT;
            if (n == 0)
                break;
        }
    }
    return status >= 200 && status < 300 ? OUT_OK : OUT_BAD_STATUS;
}

/* ---- The closed loop ----------------------------------------------------- */

enum { LATENCY_ERROR = UINT64_MAX };

struct run {
    const struct client_config *config;
    struct sockaddr_in address;
    char request[1400];
    size_t request_length;
    atomic_uint_fast64_t next_ticket;
    uint64_t *latency_ns; /* per ticket; LATENCY_ERROR for an error */
    atomic_uint_fast64_t ok, errors, timeouts, refused, bad_status, connections;
    atomic_int starved;
};

static void *client_thread(void *arg)
{
    struct run *run = arg;
    const struct client_config *config = run->config;
    char buf[16384];
    int fd = -1;
    uint64_t answered = 0;
    for (;;) {
        uint64_t ticket = atomic_fetch_add(&run->next_ticket, 1);
        if (ticket >= config->requests)
            break;
        uint64_t started = clock_nanoseconds();
        enum outcome outcome = OUT_REFUSED;
        bool keep = false;
        if (fd < 0) {
            fd = open_connection(config, &run->address);
            if (fd >= 0)
                atomic_fetch_add(&run->connections, 1);
        }
        if (fd >= 0) {
            outcome = send_all(fd, run->request, run->request_length)
                          ? read_response(fd, buf, sizeof buf, &keep)
                          : OUT_CLOSED;
        }
        uint64_t took = clock_nanoseconds() - started;
        run->latency_ns[ticket] = outcome == OUT_OK ? took : LATENCY_ERROR;
        switch (outcome) {
        case OUT_OK: atomic_fetch_add(&run->ok, 1); answered++; break;
        case OUT_BAD_STATUS: atomic_fetch_add(&run->bad_status, 1); break;
        case OUT_TIMEOUT: atomic_fetch_add(&run->timeouts, 1); break;
        case OUT_CLOSED: case OUT_REFUSED: atomic_fetch_add(&run->refused, 1); break;
        }
        if (outcome != OUT_OK)
            atomic_fetch_add(&run->errors, 1);
        if (fd >= 0 && (!keep || !config->keep_alive ||
                        (outcome != OUT_OK && outcome != OUT_BAD_STATUS))) {
            close(fd);
            fd = -1;
        }
        if (outcome == OUT_REFUSED)
            clock_sleep(0.001); /* no busy loop against a closed port */
    }
    if (fd >= 0)
        close(fd);
    if (answered == 0)
        atomic_fetch_add(&run->starved, 1);
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p% of them at or below. */
static double percentile_us(const uint64_t *sorted, uint64_t count, double p)
{
    if (count == 0)
        return 0;
    uint64_t rank = (uint64_t)((p / 100.0) * (double)count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return (double)sorted[rank - 1] / 1000.0;
}

struct client_result client_run(const struct client_config *config)
{
    struct run *run = xcalloc(1, sizeof *run);
    run->config = config;
    run->address = (struct sockaddr_in){.sin_family = AF_INET,
                                        .sin_port = htons((uint16_t)config->port)};
    inet_pton(AF_INET, config->host, &run->address.sin_addr);
    int n = snprintf(run->request, sizeof run->request,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: lab09-client\r\n"
                     "%s\r\n",
                     config->path, config->host, config->port,
                     config->keep_alive ? "" : "Connection: close\r\n");
    run->request_length = (size_t)n;
    run->latency_ns = xcalloc(config->requests, sizeof *run->latency_ns);

    pthread_t *threads = xcalloc((size_t)config->clients, sizeof *threads);
    double started = clock_seconds();
    for (int i = 0; i < config->clients; i++)
        CHECK_PT(pthread_create(&threads[i], NULL, client_thread, run));
    for (int i = 0; i < config->clients; i++)
        CHECK_PT(pthread_join(threads[i], NULL));
    double seconds = clock_seconds() - started;
    free(threads);

    /* Percentiles over the answered requests only: an error has no latency
     * (a timeout would only say "the timeout"). */
    uint64_t answered = 0;
    for (uint64_t i = 0; i < config->requests; i++)
        if (run->latency_ns[i] != LATENCY_ERROR)
            run->latency_ns[answered++] = run->latency_ns[i];
    qsort(run->latency_ns, answered, sizeof *run->latency_ns, compare_u64);
    struct client_result result = {
        .requests = run->ok,
        .errors = run->errors,
        .timeouts = run->timeouts,
        .refused = run->refused,
        .bad_status = run->bad_status,
        .connections = run->connections,
        .starved = run->starved,
        .seconds = seconds,
        .p50_us = percentile_us(run->latency_ns, answered, 50),
        .p90_us = percentile_us(run->latency_ns, answered, 90),
        .p99_us = percentile_us(run->latency_ns, answered, 99),
        .max_us = answered ? (double)run->latency_ns[answered - 1] / 1000.0 : 0,
    };
    free(run->latency_ns);
    free(run);
    return result;
}

void client_print_csv_row(const struct client_config *config,
                          const struct client_result *r)
{
    printf("%d,%llu,%.6f,%.1f,%.1f,%.1f,%.1f,%llu\n", config->clients,
           (unsigned long long)r->requests, r->seconds, r->p50_us, r->p90_us,
           r->p99_us, r->max_us, (unsigned long long)r->errors);
}

void client_print_result(const struct client_config *config,
                         const struct client_result *r)
{
    char text[32];
    printf("%d client%s, %llu requests (%s) to http://%s:%d%s\n", config->clients,
           config->clients == 1 ? "" : "s",
           (unsigned long long)config->requests,
           config->keep_alive ? "keep-alive" : "a connection per request",
           config->host, config->port, config->path);
    printf("  %llu answered in %s: %.0f requests/s, over %llu connection%s\n",
           (unsigned long long)r->requests, duration_text(r->seconds, text, sizeof text),
           r->seconds > 0 ? (double)r->requests / r->seconds : 0,
           (unsigned long long)r->connections, r->connections == 1 ? "" : "s");
    printf("  latency p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n",
           r->p50_us, r->p90_us, r->p99_us, r->max_us);
    printf("  errors %llu (%llu timed out, %llu connection failures, %llu non-2xx "
           "answers)\n",
           (unsigned long long)r->errors, (unsigned long long)r->timeouts,
           (unsigned long long)r->refused, (unsigned long long)r->bad_status);
    if (r->starved > 0 && config->keep_alive)
        printf("  %d of %d clients got no answer at all within %g s: the server "
               "took at most %d connections at once.  A server with a thread "
               "per connection serves at most workers x threads keep-alive "
               "clients; the others wait in the kernel's accept queue until a "
               "connection closes\n",
               r->starved, config->clients, config->request_timeout,
               config->clients - r->starved);
}
