/*
 * fuzz_bulkresp.c
 *		libFuzzer target for the _bulk response reader (forwarder/bulkresp.c).
 *
 * The first byte picks how many items were "sent" (1 to 8) and the next
 * ones their actions; the rest is the response body. Any body must either
 * be refused (the request is then sent again) or give exactly one valid
 * status per item sent: a wrong acknowledgement starts with a response
 * read as something it is not. The reader's fast path for clean responses
 * must agree with jansson's reading of the same body, item by item.
 */
#include <stdlib.h>
#include <string.h>

#include "bulkresp.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ItemAction	sent[8];
	BulkRespItem items[8];
	BulkRespItem reference[8];
	bool		parsed;
	size_t		nsent;
	size_t		i;
	char		err[256];
	char		err2[256];
	char	   *e;

	if (size < 1)
		return 0;
	nsent = (size_t) (data[0] % 8) + 1;
	if (size < 1 + nsent)
		return 0;
	for (i = 0; i < nsent; i++)
		sent[i] = (ItemAction) (data[1 + i] % 4);
	data += 1 + nsent;
	size -= 1 + nsent;
	parsed = bulkresp_parse((const char *) data, size, sent, nsent, items, err, sizeof(err));
	if (bulkresp_parse_json((const char *) data, size, sent, nsent, reference, err2, sizeof(err2)) != parsed)
		abort();
	if (parsed)
	{
		for (i = 0; i < nsent; i++)
		{
			if (items[i].status < 100 || items[i].status > 599 ||
				items[i].status != reference[i].status ||
				(items[i].error == NULL) != (reference[i].error == NULL) ||
				(items[i].error && strcmp(items[i].error, reference[i].error) != 0))
				abort();
			(void) bulkresp_item_outcome(sent[i], items[i].status);
		}
		bulkresp_items_free(items, nsent);
		bulkresp_items_free(reference, nsent);
	}
	else if (strlen(err) == 0)
		abort();
	e = bulkresp_request_error(400, (const char *) data, size);
	if (e == NULL)
		abort();
	free(e);
	return 0;
}
