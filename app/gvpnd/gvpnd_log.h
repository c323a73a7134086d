/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where gvpnd's log lines (its own, the libraries' and EAL's) go: stderr
 * with a timestamp on every line, stderr without one when stderr is the
 * systemd journal (it stamps lines itself), or syslog (--syslog).
 */
#ifndef GVPND_LOG_H
#define GVPND_LOG_H

#include <stdbool.h>

/* True when stderr is the journal's stream ($JOURNAL_STREAM names it). */
bool gvpnd_log_stderr_is_journal(void);

/* Installs the log stream; call before rte_eal_init. 0, or -1 with errno. */
int gvpnd_log_init(bool use_syslog);

#endif
