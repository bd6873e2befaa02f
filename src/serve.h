/* serve.h - the `sockit serve` command. */
#ifndef SOCKIT_SERVE_H
#define SOCKIT_SERVE_H

int cmd_serve(int argc, char **argv);

#endif
