/*
 * fuzz_frame.c
 *		libFuzzer target for the framed-mode reader (forwarder/frame.c).
 *
 * Any input must read as frames or as a clean FRAME_ERROR, never crash, and
 * every frame handed out must describe bytes inside the message: a CHANGE's
 * items lie within the input, end in a newline and carry a known action.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort (a finding) unless [p, p+len) lies inside [base, base+size) */
static void
check_inside(const char *base, size_t size, const char *p, size_t len)
{
	if (p < base || p > base + size || len > (size_t) (base + size - p))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *) data;
	FrameReader reader;
	Frame		frame;
	FrameStatus fs;
	char		err[256];
	size_t		i;

	frame_reader_init(&reader, msg, size);
	while ((fs = frame_reader_next(&reader, &frame, err, sizeof(err))) == FRAME_OK)
	{
		if (frame.kind == FRAME_CHANGE)
		{
			if (frame.nitems < 1 || frame.nitems > FRAME_MAX_ITEMS)
				abort();
			for (i = 0; i < frame.nitems; i++)
			{
				check_inside(msg, size, frame.items[i].data, frame.items[i].len);
				if (frame.items[i].len == 0 || frame.items[i].data[frame.items[i].len - 1] != '\n')
					abort();
			}
		}
		else if (frame.kind == FRAME_TRUNCATE)
		{
			for (i = 0; i < frame.nindexes; i++)
			{
				const char *name;
				size_t		len;

				frame_truncate_index(&frame, i, &name, &len);
				check_inside(msg, size, name, len);
			}
		}
		else if (frame.kind == FRAME_RELATION)
			check_inside(msg, size, frame.relation_index, frame.relation_index_len);
		else if (frame.kind == FRAME_REQUEST)
		{
			if (frame.request.target_index)
				check_inside(msg, size, frame.request.target_index, frame.request.target_index_len);
			if (frame.request.index)
				check_inside(msg, size, frame.request.index, frame.request.index_len);
		}
	}
	if (fs == FRAME_ERROR && strlen(err) == 0)
		abort();
	return 0;
}
