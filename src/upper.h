/* upper.h - the echo transform: Python bytes.upper(), only a-z change. Pure. */
#ifndef SOCKIT_UPPER_H
#define SOCKIT_UPPER_H

#include <stddef.h>
#include <stdint.h>

void upper_ascii(uint8_t *data, size_t len);

#endif
