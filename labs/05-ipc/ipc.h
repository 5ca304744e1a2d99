/* ipc.h: the parts of lab 05 (ipc), one file each: E7 (e7_queue.c), E8
 * (e8_channel.c), the benchmarks (bench.c), main (ipc.c). */
#ifndef LAB_IPC_H
#define LAB_IPC_H

#include <stdbool.h>
#include <stdint.h>

/* Each returns the program's exit status: EXIT_OK, or EXIT_WRONG when the
 * queue or the channel did something other than what the lab claims. */
int e7_queue_calls(void);
int e8_channel_message(void);

enum bench_kind { BENCH_NONE, BENCH_QUEUE, BENCH_ROUNDTRIP, BENCH_BANDWIDTH };

struct bench_options {
    enum bench_kind kind;
    uint64_t capacity;   /* queue: slots in the ring */
    uint64_t messages;   /* queue, bandwidth: messages per repetition */
    uint64_t roundtrips; /* roundtrip: round trips per repetition */
    uint64_t size;       /* bandwidth: bytes per message */
    uint64_t repeat, warmup;
    bool csv;
};

int bench_run(const struct bench_options *options);

/* What the run is doing now, for the watchdog's diagnosis. */
void ipc_set_phase(const char *phase);

#endif
