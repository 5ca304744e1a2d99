/* delay_server.h: a loopback server that answers after a delay (see .c). */
#ifndef LAB_DELAY_SERVER_H
#define LAB_DELAY_SERVER_H

#include "proc.h"

#include <stdbool.h>
#include <stdint.h>

struct delay_request {
    uint32_t task, delay_us;
};
struct delay_reply {
    uint32_t task, answer;
};

/* What the server answers for `task`: checked by the client, so a reply
 * to another request (or a garbled one) is caught. */
static inline uint32_t delay_answer(uint32_t task)
{
    return task * 2654435761u ^ 0x5a5a5a5au;
}

struct delay_server {
    struct proc process;
    int port;
};

/* Listen on 127.0.0.1 (a free port) and start the server process. */
void delay_server_start(struct delay_server *server);
/* SIGTERM it and reap it: nothing is left. */
void delay_server_stop(struct delay_server *server);

/* One client connection (blocking, TCP_NODELAY). */
int delay_connect(int port);
/* Send one request and block until its reply; true if the reply is the
 * right answer to this request. */
bool delay_call(int fd, uint32_t task, double delay_ms);

#endif
