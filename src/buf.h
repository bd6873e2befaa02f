/* buf.h - a growable byte queue with a hard size limit: where backpressure is decided. */
#ifndef SOCKIT_BUF_H
#define SOCKIT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t start; /* first unread byte */
	size_t end;   /* one past the last byte */
	size_t cap;   /* allocated size */
	size_t limit; /* never grows past this */
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b);
static inline size_t buf_len(const struct buf *b)
{
	return b->end - b->start;
}
static inline const uint8_t *buf_head(const struct buf *b)
{
	return b->data + b->start;
}
/* Append; -ENOBUFS if it would pass the limit (nothing appended), -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t len);
void buf_consume(struct buf *b, size_t len);
/* Release memory once empty, so that idle connections cost no buffer. */
void buf_shrink_if_empty(struct buf *b);

#endif
