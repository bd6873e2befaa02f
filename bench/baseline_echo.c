/* baseline_echo.c - the floor for BENCHMARKS.md: a bare single-thread epoll uppercase echo
 * over tcp and udp on one port, with no features at all (no limits, no timeouts, no
 * batching). Not installed; bench/run compares sockit serve against it.
 * Usage: baseline_echo PORT [--plain]   (PORT 0 picks one; "port N" is printed) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE   65536
#define MAX_EVENTS 256
#define MAX_FDS    65536

/* Bytes a connection could not send yet; while any are pending it is not read (bounded). */
struct pending {
	char *data;
	size_t len, off;
};

static struct pending pend[MAX_FDS];
static bool plain;

static void upper(char *p, size_t n)
{
	if (plain)
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (char)(p[i] - 32);
}

static int make_socket(int type, unsigned short port)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		perror("baseline_echo: bind");
		exit(1);
	}
	return fd;
}

static void set_events(int ep, int fd, unsigned events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	free(pend[fd].data);
	pend[fd] = (struct pending){0};
	close(fd);
}

static void on_stream(int ep, int fd, unsigned events, char *buf)
{
	struct pending *p = &pend[fd];
	if (p->data != NULL && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		ssize_t n = send(fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			drop(ep, fd);
			return;
		}
		p->off += n > 0 ? (size_t)n : 0;
		if (p->off == p->len) {
			free(p->data);
			*p = (struct pending){0};
			set_events(ep, fd, EPOLLIN);
		}
		return;
	}
	ssize_t n = recv(fd, buf, BUF_SIZE, 0);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			drop(ep, fd);
		return;
	}
	upper(buf, (size_t)n);
	ssize_t s = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
	if (s < 0 && errno != EAGAIN) {
		drop(ep, fd);
		return;
	}
	if (s < n) { /* keep the rest, stop reading until it is sent */
		size_t off = s > 0 ? (size_t)s : 0;
		p->len = (size_t)n - off;
		p->off = 0;
		p->data = malloc(p->len);
		memcpy(p->data, buf + off, p->len);
		set_events(ep, fd, EPOLLOUT);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: baseline_echo PORT [--plain]\n");
		return 64;
	}
	plain = argc > 2 && strcmp(argv[2], "--plain") == 0;
	signal(SIGPIPE, SIG_IGN);
	int lfd = make_socket(SOCK_STREAM, (unsigned short)atoi(argv[1]));
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	int ufd = make_socket(SOCK_DGRAM, ntohs(sa.sin_port));
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.fd = ufd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	static char buf[BUF_SIZE];
	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (c < 0)
					continue;
				if (c >= MAX_FDS) {
					close(c);
					continue;
				}
				int one = 1;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
			} else if (fd == ufd) {
				struct sockaddr_storage peer;
				socklen_t plen = sizeof(peer);
				ssize_t r = recvfrom(ufd, buf, BUF_SIZE, 0,
						     (struct sockaddr *)&peer, &plen);
				if (r < 0)
					continue;
				upper(buf, (size_t)r);
				sendto(ufd, buf, (size_t)r, 0, (struct sockaddr *)&peer, plen);
			} else {
				on_stream(ep, fd, evs[i].events, buf);
			}
		}
	}
}
