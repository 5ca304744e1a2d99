/* share.h: the parts of lab 06 (share), one file each: the documents'
 * manager and the copy gotcha (documents.c), shared memory next to messages
 * (cost.c), main (share.c). */
#ifndef LAB_SHARE_H
#define LAB_SHARE_H

#include <stdbool.h>
#include <stdint.h>

/* Each returns the program's exit status: EXIT_OK, or EXIT_WRONG when what
 * the parent saw is not what the lab claims. */
/* tcp: NULL, or "127.0.0.1:PORT": the manager serves over TCP too, and
 * the child reaches it over TCP with the key (with the wrong key if
 * wrong_key: it must be refused). */
int experiment_manager(const char *tcp, bool wrong_key);
int experiment_copy(void);
/* failures.c: garbage, a killed client, a killed manager, shutdown. */
int experiment_failures(void);

enum method {
    METHOD_MANAGER, /* one proxy call per update: d[i] = n */
    METHOD_MUTEX,   /* lock; counter += 1; unlock, in shared memory */
    METHOD_ATOMIC,  /* atomic_fetch_add on one shared counter */
    METHOD_PADDED,  /* one counter per process, each on its own cache line */
    METHOD_QUEUE,   /* each update a message on one queue to the owner */
    METHOD_CHANNEL, /* each update a message on a channel to the owner */
    METHOD_COUNT
};
extern const char *const method_names[]; /* "manager", ...; then "all" */

struct cost_options {
    int method;               /* METHOD_COUNT: all of them */
    uint64_t max_clients;     /* 1, 2, 4, ... up to this */
    uint64_t iterations;      /* updates per client; 0: each method's own */
    uint64_t repeat, warmup;
    bool csv, connect_per_call;
};
int experiment_cost(const struct cost_options *options);

/* What the run is doing now, for the watchdog's diagnosis. */
void share_set_phase(const char *phase);

#endif
