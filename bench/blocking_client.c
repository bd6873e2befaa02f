/* blocking_client.c - the simplest echo client, for BENCHMARKS.md: one blocking send and
 * one blocking receive per message over one TCP connection. `sockit bench` must reach at
 * least its rate, or it would be measuring itself. Not installed.
 * Usage: blocking_client PORT SECONDS [SIZE]   prints "N msgs/s" */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: blocking_client PORT SECONDS [SIZE]\n");
		return 64;
	}
	size_t size = argc > 3 ? (size_t)atoi(argv[3]) : 64;
	if (size == 0 || size > 65536)
		size = 64;
	static char out[65536], in[65536];
	for (size_t i = 0; i < size; i++)
		out[i] = (char)('a' + i % 26);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((unsigned short)atoi(argv[1]))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("blocking_client: connect");
		return 1;
	}
	double start = now(), end = start + atof(argv[2]);
	unsigned long msgs = 0;
	while (now() < end) {
		if (send(fd, out, size, 0) != (ssize_t)size)
			return 1;
		for (size_t got = 0; got < size;) {
			ssize_t n = recv(fd, in + got, size - got, 0);
			if (n <= 0)
				return 1;
			got += (size_t)n;
		}
		msgs++;
	}
	printf("%.0f msgs/s\n", (double)msgs / (now() - start));
	return 0;
}
