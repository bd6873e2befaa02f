/* i18n.h - gettext marks: _() translates now, N_() marks a string translated later. */
#ifndef SOCKIT_I18N_H
#define SOCKIT_I18N_H

#include <libintl.h>

#define _(text)  gettext(text)
#define N_(text) (text)

/* Called once by main: the locale from the environment and sockit's message catalog. */
void i18n_init(void);

#endif
