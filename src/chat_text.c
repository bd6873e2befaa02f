/* chat_text.c - render incoming chat text safely and parse what the user types. */
#include <string.h>

#include "chat_text.h"
#include "i18n.h"

bool chat_text_want_colour(bool stdout_is_tty, const char *no_color_env)
{
	return stdout_is_tty && no_color_env == NULL;
}

static size_t append(char *out, size_t outlen, size_t at, const char *s)
{
	size_t n = strlen(s);
	if (at + n >= outlen)
		n = outlen - 1 - at;
	memcpy(out + at, s, n);
	out[at + n] = '\0';
	return at + n;
}

size_t chat_text_render(char *out, size_t outlen, const char *label, const void *text, size_t len,
			bool colour)
{
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	size_t at = 0;
	at += escape_text(out, outlen, label, strlen(label));
	/* Keep room for the colour reset, so a long text can never leave the terminal blue. */
	size_t reserve = colour ? sizeof(CHAT_COLOUR_OFF) - 1 : 0;
	if (colour)
		at = append(out, outlen, at, CHAT_COLOUR_ON);
	if (at + reserve < outlen)
		at += escape_text(out + at, outlen - at - reserve, text, len);
	if (colour)
		at = append(out, outlen, at, CHAT_COLOUR_OFF);
	return at;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Is the word at p exactly cmd (followed by the end or a space)? */
static bool is_command(const char *p, size_t len, const char *cmd)
{
	size_t n = strlen(cmd);
	return len >= n && memcmp(p, cmd, n) == 0 && (len == n || is_space(p[n]));
}

struct chat_input chat_text_parse_input(const char *line)
{
	size_t len = strlen(line);
	while (len > 0 && is_space(*line)) {
		line++;
		len--;
	}
	while (len > 0 && is_space(line[len - 1]))
		len--;
	struct chat_input in = {.kind = CHAT_INPUT_MESSAGE, .arg = line, .len = len};
	if (len == 0) {
		in.kind = CHAT_INPUT_EMPTY;
	} else if (len == 4 && memcmp(line, "quit", 4) == 0) {
		in.kind = CHAT_INPUT_BACK;
	} else if (line[0] != '/') {
		/* a message */
	} else if (len >= 2 && line[1] == '/') {
		in.arg = line + 1;
		in.len = len - 1;
	} else if (is_command(line, len, "/to")) {
		const char *p = line + 3;
		while (p < line + len && is_space(*p))
			p++;
		in.kind = CHAT_INPUT_TO;
		in.arg = p;
		in.len = (size_t)(line + len - p);
		if (in.len == 0) {
			in.kind = CHAT_INPUT_BAD;
			in.arg = N_("/to needs a contact name or an address");
			in.len = strlen(in.arg);
		}
	} else if (is_command(line, len, "/help") && len == 5) {
		in.kind = CHAT_INPUT_HELP;
	} else if (is_command(line, len, "/contacts") && len == 9) {
		in.kind = CHAT_INPUT_CONTACTS;
	} else if (is_command(line, len, "/quit") && len == 5) {
		in.kind = CHAT_INPUT_QUIT;
	} else {
		in.kind = CHAT_INPUT_BAD;
		in.arg = N_("unknown command (try /help; start with // to send a line beginning "
			    "with /)");
		in.len = strlen(in.arg);
	}
	return in;
}
