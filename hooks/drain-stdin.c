/*
 * The benchmark's baseline: the smallest possible hook, which only drains stdin.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <unistd.h>

int
main (void)
{
	char buf[65536];
	while (read (STDIN_FILENO, buf, sizeof buf) > 0)
		;
	return 0;
}
