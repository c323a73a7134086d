/* SPDX-License-Identifier: BSD-3-Clause */
#include "gvpnd_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

struct log_sink {
	bool syslog;
	bool stamp; /* a timestamp at the start of every line */
	bool bol;   /* the next byte starts a line */
};

static struct log_sink sink = {.bol = true};

bool
gvpnd_log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void
put_stamp(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld ", buf, ts.tv_nsec / 1000000);
}

/* EAL's levels are syslog's plus one (RTE_LOG_EMERG is 1). */
static int
syslog_priority(void)
{
	int lvl = rte_log_cur_msg_loglevel() - 1;

	return lvl < LOG_EMERG ? LOG_INFO : lvl > LOG_DEBUG ? LOG_DEBUG : lvl;
}

static ssize_t
log_write(void *cookie, const char *buf, size_t size)
{
	struct log_sink *s = cookie;
	size_t i = 0;

	while (i < size) {
		const char *nl = memchr(buf + i, '\n', size - i);
		size_t n = nl != NULL ? (size_t)(nl - (buf + i)) : size - i;

		if (s->syslog) {
			if (n > 0)
				syslog(syslog_priority(), "%.*s", (int)n, buf + i);
		} else {
			if (s->bol && s->stamp)
				put_stamp();
			fwrite(buf + i, 1, n, stderr);
			if (nl != NULL)
				fputc('\n', stderr);
		}
		s->bol = nl != NULL;
		i += n + (nl != NULL);
	}
	if (!s->syslog)
		fflush(stderr);
	return (ssize_t)size;
}

int
gvpnd_log_init(bool use_syslog)
{
	static const cookie_io_functions_t io = {.write = log_write};
	FILE *f;

	sink.syslog = use_syslog;
	sink.stamp = !use_syslog && !gvpnd_log_stderr_is_journal();
	if (use_syslog)
		openlog("gvpnd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	f = fopencookie(&sink, "w", io);
	if (f == NULL)
		return -1;
	/* EAL keeps a stream opened here over its own (which also copies
	 * every line to syslog) */
	return rte_openlog_stream(f);
}
