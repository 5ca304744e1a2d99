/* lab.h: what the files of lab 09 share.  The lesson starts in server.c. */
#ifndef LAB_SERVER_H
#define LAB_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- HTTP/1.1, the small part a server needs (http.c) ------------------ */

enum {
    HTTP_HEADER_LIMIT = 8192, /* request line + headers, bytes (nginx: 8 KiB) */
    HTTP_HEADER_COUNT_LIMIT = 100,
    HTTP_WORK_CPU_MAX = 1000000000, /* /work?cpu=N: at most 1e9 additions */
    HTTP_WORK_IO_MAX = 10000,       /* /work?io_ms=D: at most 10 s */
};

enum http_route { ROUTE_ROOT, ROUTE_WORK };

struct http_request {
    enum http_route route;
    bool head;          /* HEAD: the same headers, no body */
    int minor_version;  /* HTTP/1.0 or HTTP/1.1 */
    bool keep_alive;    /* after the version's default and Connection: */
    uint64_t cpu;       /* /work */
    uint64_t io_ms;     /* /work */
};

/* What parsing a buffer gave. */
struct http_parse {
    int status;      /* 0: a request (in `request`); -1: need more bytes;
                        else the error status to answer (400, 404, ...) */
    size_t consumed; /* bytes of the buffer the request took (status 0) */
    const char *why; /* error: the reason, for the one log line */
    struct http_request request;
};

/* Parse the start of buf[0..length).  Never reads past `length`. */
struct http_parse http_parse(const char *buf, size_t length);

/* The reason phrase of a status code ("Bad Request"). */
const char *http_reason(int status);

/* Send all of data, resuming after signals and short writes; false when
 * the peer is gone (MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE).
 * The server's replies and the client's requests both go out through it. */
bool send_all(int fd, const char *data, size_t length);

/* Format a whole response into out (at most size bytes); returns its
 * length.  body may be NULL (an error: the reason phrase is the body). */
size_t http_response(char *out, size_t size, int status, bool keep_alive,
                     bool keep_alive_header, bool head, const char *body);

/* The body of GET / -- small and fixed, the same bytes nginx and the
 * CPython server send (bench.sh writes it to their document roots). */
extern const char HTTP_ROOT_BODY[];

/* ---- The server (serve.c) ----------------------------------------------- */

enum accept_mode {
    ACCEPT_BLOCKING,       /* "accept": threads block in accept() on one socket */
    ACCEPT_EPOLL,          /* level-triggered epoll on the shared socket */
    ACCEPT_EPOLL_EXCLUSIVE,/* the same with EPOLLEXCLUSIVE */
    ACCEPT_REUSEPORT,      /* one SO_REUSEPORT socket per worker */
    ACCEPT_MODES
};
extern const char *const accept_mode_names[]; /* NULL-terminated */

enum { SERVER_MAX_WORKERS = 64, SERVER_MAX_THREADS = 1024 };

/* One worker slot's counters, in memory shared by the master and every
 * worker (a worker that dies is replaced in the same slot; the counts go
 * on).  Relaxed atomics: they are read once the workers have stopped, or
 * only approximately while they run. */
struct worker_stats {
    _Atomic pid_t pid;
    _Atomic uint64_t wakeups;       /* a waiter returned to take a connection */
    _Atomic uint64_t accepts;       /* ... and got one */
    _Atomic uint64_t failed_accepts;/* ... and found none (EAGAIN: the herd) */
    _Atomic uint64_t requests;      /* answered with 2xx */
    _Atomic uint64_t rejected;      /* answered with 4xx/5xx */
    _Atomic uint64_t cut;           /* closed without an answer (timeouts) */
    _Atomic int busy;               /* connections open right now */
    _Atomic uint64_t ready_ns;      /* monotonic ns when it began to accept */
};

struct server_shared {
    _Atomic int port;
    _Atomic int workers;
    _Atomic uint64_t respawns;
    _Atomic uint64_t last_death_ns;   /* when the master saw a worker die */
    _Atomic uint64_t last_respawn_ns; /* when its replacement was ready */
    struct worker_stats slot[SERVER_MAX_WORKERS];
};

struct server_config {
    int workers;
    int threads;       /* 0: one epoll event loop per worker */
    int accept_mode;
    int port;          /* 0: ephemeral */
    double read_timeout;  /* a request must arrive whole within this */
    double idle_timeout;  /* a keep-alive connection may idle this long */
    bool quiet;        /* no line per hostile request (the benchmarks) */
    int ready_fd;      /* >= 0: write the port there (4 bytes) once listening,
                          and print nothing (an experiment runs it) */
    bool own_signals;  /* read SIGTERM itself (no watchdog in this process) */
};

/* Shared memory for the counters (MAP_SHARED|MAP_ANONYMOUS, before fork). */
struct server_shared *server_shared_create(void);

/* Run the master: bind, fork the workers, respawn the dead, drain on the
 * first SIGTERM/SIGINT, print the summary.  Returns the exit status. */
int serve(const struct server_config *config, struct server_shared *shared);

/* The summary lines printed at exit, also used by the experiments. */
void serve_print_summary(const struct server_shared *shared, int workers,
                         FILE *out);

/* ---- The load client (client.c) ----------------------------------------- */

struct client_config {
    char host[64];
    int port;
    char path[1024];
    int clients;
    uint64_t requests;
    bool keep_alive;
    double request_timeout; /* no byte of an answer for this long: an error */
};

struct client_result {
    uint64_t requests;   /* answered with 2xx */
    uint64_t errors;     /* any other outcome */
    uint64_t timeouts;   /* ... of which: no answer within request_timeout */
    uint64_t refused;    /* ... of which: connect() failed or reset */
    uint64_t bad_status; /* ... of which: a non-2xx answer */
    uint64_t connections;/* connections opened */
    int starved;         /* clients that got no answer at all */
    double seconds;
    double p50_us, p90_us, p99_us, max_us;
};

/* "http://HOST:PORT/PATH" into the config; false with a reason if not. */
bool client_parse_url(const char *url, struct client_config *config,
                      char *why, size_t why_size);

/* Drive the server: `clients` threads, closed loop, exactly `requests`
 * requests in all (each either answered or counted as an error). */
struct client_result client_run(const struct client_config *config);

#define CLIENT_CSV_HEADER "clients,requests,seconds,p50_us,p90_us,p99_us,max_us,errors"
void client_print_csv_row(const struct client_config *config,
                          const struct client_result *result);
void client_print_result(const struct client_config *config,
                         const struct client_result *result);

/* ---- The experiments (experiment.c) ------------------------------------- */

struct experiment_options {
    int workers;         /* 0: the sweep's own */
    int threads;         /* -1: the sweep's own */
    int accept_mode;
    int clients;         /* 0: the sweep's own */
    uint64_t requests;
    int io_ms;           /* -1: the sweep's own */
    uint64_t cpu;
    bool keep_alive;
    bool csv;
    int repeat, warmup;
    int connections;     /* herd: how many */
    uint64_t seed;       /* hostile: the random bytes */
};

int experiment_load(const struct experiment_options *o);
int experiment_herd(const struct experiment_options *o);
int experiment_kill(const struct experiment_options *o);
int experiment_cap(const struct experiment_options *o);
int experiment_hostile(const struct experiment_options *o);

#endif
