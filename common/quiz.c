/* quiz.c: --quiz, --answer and --seed, the same in every lab. */
#include "quiz.h"

#include "timing.h"

struct flag flag_quiz(bool *target)
{
    return (struct flag){.name = "quiz", .type = FLAG_SWITCH, .target = target,
                         .help = "print the problem with ? for the results; "
                                 "run nothing that would tell"};
}

struct flag flag_answer(bool *target)
{
    return (struct flag){.name = "answer", .type = FLAG_SWITCH,
                         .target = target,
                         .help = "compute the answer to --quiz (same flags), "
                                 "then run it and show both"};
}

void quiz_start(struct quiz *quiz, const struct program *program)
{
    if (quiz->quiz && quiz->answer)
        flags_usage_error(program, "--quiz, --answer: one or the other (the "
                                   "quiz hides what the answer shows)");
    quiz->seeded = flags_given(program, "seed");
    if (!quiz->seeded)
        quiz->seed = clock_nanoseconds() % 100000;
    quiz->state = quiz->seed;
}

int quiz_pick(struct quiz *quiz, int low, int high)
{
    uint64_t z = (quiz->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return low + (int)(z % (uint64_t)(high - low + 1));
}
