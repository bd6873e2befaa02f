/* i18n.c - locale and message catalog set-up. */
#include <locale.h>

#include "i18n.h"

#ifndef SOCKIT_LOCALEDIR
#define SOCKIT_LOCALEDIR "/usr/local/share/locale"
#endif

void i18n_init(void)
{
	setlocale(LC_ALL, "");
	bindtextdomain("sockit", SOCKIT_LOCALEDIR);
	bind_textdomain_codeset("sockit", "UTF-8");
	textdomain("sockit");
}
