/* bench.h - the `sockit bench` command. */
#ifndef SOCKIT_BENCH_H
#define SOCKIT_BENCH_H

int cmd_bench(int argc, char **argv);

#endif
