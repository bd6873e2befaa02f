/* i18n.c - locale and message catalog set-up. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

#ifndef SOCKIT_LOCALEDIR
#define SOCKIT_LOCALEDIR "/usr/local/share/locale"
#endif

void i18n_init(void)
{
	setlocale(LC_ALL, "");
	/* As Python does (PEP 538): in the bare C locale libedit drops every non-ASCII byte
	 * typed at the prompt, so text like the seed's Chinese could not be sent. */
	const char *ctype = setlocale(LC_CTYPE, NULL);
	if (ctype != NULL && (strcmp(ctype, "C") == 0 || strcmp(ctype, "POSIX") == 0))
		setlocale(LC_CTYPE, "C.UTF-8");
	/* SOCKIT_LOCALEDIR lets the tests (and a user trying a build) use the catalogs of
	 * the build tree; secure_getenv ignores it in a setuid process. */
	const char *dir = secure_getenv("SOCKIT_LOCALEDIR");
	bindtextdomain("sockit", dir != NULL && dir[0] != '\0' ? dir : SOCKIT_LOCALEDIR);
	bind_textdomain_codeset("sockit", "UTF-8");
	textdomain("sockit");
}
