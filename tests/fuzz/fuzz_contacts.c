/* fuzz_contacts.c - the chat's contact book file and --contact option on any text. */
#include <string.h>

#include "addr.h"
#include "contacts.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT (CONTACTS_FILE_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	static struct contact_book book; /* large; reset per input */
	memset(&book, 0, sizeof(book));
	char err[CONTACTS_ERR_LEN];
	char *text = malloc(size + 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	(void)contacts_parse_text(&book, text, size, "fuzz", err, sizeof(err));
	FUZZ_CHECK(book.count <= CONTACTS_MAX);
	for (size_t i = 0; i < book.count; i++) {
		FUZZ_CHECK(strlen(book.list[i].name) <= CONTACT_NAME_MAX);
		FUZZ_CHECK(book.list[i].spec.transport == ADDR_UDP);
		FUZZ_CHECK(contacts_find(&book, book.list[i].name) != NULL);
	}
	memset(&book, 0, sizeof(book));
	(void)contacts_parse_option(&book, text, err, sizeof(err));
	FUZZ_CHECK(book.count <= 1);
	free(text);
	return 0;
}
