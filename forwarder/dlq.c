/*
 * dlq.c
 *		Dead-letter store (file layout in dlq.h).
 *
 * An item counts as handled (and its transaction may be acknowledged) only
 * after dlq_sync has returned true, so a crash cannot lose a refused item.
 */
#include "dlq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * dlq_init: remember the path; the files are created on the first write,
 * so a healthy sync leaves none behind. Returns false when out of memory.
 */
bool
dlq_init(Dlq *dlq, const char *path)
{
	dlq->path = strdup(path);
	dlq->items = NULL;
	dlq->errors = NULL;
	return dlq->path != NULL;
}

/*
 * open_files: open both files for appending if they are not open yet.
 */
static bool
open_files(Dlq *dlq)
{
	char	   *errors_path;

	if (dlq->items != NULL)
		return true;
	errors_path = malloc(strlen(dlq->path) + sizeof(".errors"));
	if (errors_path == NULL)
		return false;
	strcpy(errors_path, dlq->path);
	strcat(errors_path, ".errors");
	dlq->items = fopen(dlq->path, "ab");
	dlq->errors = dlq->items ? fopen(errors_path, "ab") : NULL;
	if (dlq->errors == NULL)
	{
		log_error("could not open dead-letter file \"%s\": %s",
				  dlq->items ? errors_path : dlq->path, strerror(errno));
		if (dlq->items)
			fclose(dlq->items);
		dlq->items = NULL;
	}
	free(errors_path);
	return dlq->items != NULL;
}

/*
 * dlq_write: append one item (its lines, each ending in \n) and its error
 * line. error_json must be a JSON value (NULL is written as null). Returns
 * false on an I/O error (logged). The data is durable only after dlq_sync.
 */
bool
dlq_write(Dlq *dlq, const char *item, size_t len, int status, const char *error_json)
{
	const char *nl = memchr(item, '\n', len);
	size_t		action_len = nl ? (size_t) (nl - item) : len;
	char		ts[32];
	time_t		now = (time_t) (pg2es_wall_us() / 1000000);
	struct tm	tm;

	if (!open_files(dlq))
		return false;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (fwrite(item, 1, len, dlq->items) != len ||
		fprintf(dlq->errors, "{\"ts\":\"%s\",\"status\":%d,\"action\":%.*s,\"error\":%s}\n",
				ts, status, (int) action_len, item,
				error_json ? error_json : "null") < 0)
	{
		log_error("could not write dead-letter file \"%s\": %s", dlq->path, strerror(errno));
		return false;
	}
	return true;
}

/*
 * dlq_sync: flush both files to disk. Returns false on an I/O error (logged).
 */
bool
dlq_sync(Dlq *dlq)
{
	if (dlq->items == NULL)
		return true;
	if (fflush(dlq->items) != 0 || fflush(dlq->errors) != 0 ||
		fsync(fileno(dlq->items)) != 0 || fsync(fileno(dlq->errors)) != 0)
	{
		log_error("could not flush dead-letter file \"%s\": %s", dlq->path, strerror(errno));
		return false;
	}
	return true;
}

/*
 * dlq_close: close the files and free the path.
 */
void
dlq_close(Dlq *dlq)
{
	if (dlq->items)
		fclose(dlq->items);
	if (dlq->errors)
		fclose(dlq->errors);
	free(dlq->path);
	dlq->items = dlq->errors = NULL;
	dlq->path = NULL;
}
