/* buf.c - byte queue: appends at the end, consumes from the front, compacts lazily. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_init(struct buf *b, size_t limit)
{
	*b = (struct buf){.limit = limit};
}

void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){.limit = b->limit};
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	size_t used = buf_len(b);
	if (len > b->limit - used)
		return -ENOBUFS;
	if (b->end + len > b->cap) {
		if (b->start > 0) { /* slide the unread bytes to the front first */
			memmove(b->data, b->data + b->start, used);
			b->start = 0;
			b->end = used;
		}
		if (used + len > b->cap) {
			size_t cap = b->cap ? b->cap : 4096;
			while (cap < used + len)
				cap *= 2;
			if (cap > b->limit)
				cap = b->limit;
			uint8_t *grown = realloc(b->data, cap);
			if (grown == NULL)
				return -ENOMEM;
			b->data = grown;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->end, data, len);
	b->end += len;
	return 0;
}

void buf_consume(struct buf *b, size_t len)
{
	b->start += len;
	if (b->start >= b->end)
		b->start = b->end = 0;
}

void buf_shrink_if_empty(struct buf *b)
{
	if (buf_len(b) == 0 && b->data != NULL) {
		free(b->data);
		b->data = NULL;
		b->cap = b->start = b->end = 0;
	}
}
