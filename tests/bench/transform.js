'use strict';
/*
 * transform.js: the classic re-encoding CDC consumer, in Node.js.
 *
 * Reads wal2json format-version 2 messages (one JSON object per line, as
 * pg_recvlogical writes them, started with -o include-pk=1) on stdin, turns
 * each row change into an Elasticsearch _bulk item and POSTs them in batches
 * to URL/_bulk over one keep-alive connection.  This is what a generic CDC
 * consumer does: parse every message, rebuild the document, serialise it
 * again.
 *
 * Usage: node transform.js [--raw] URL [BATCH_DOCS] [LINGER_MS]
 * A batch is sent when it holds BATCH_DOCS items (default 1000) or LINGER_MS
 * (default 10) after its first item, whichever comes first; at most one
 * request is in flight, and input is paused while one waits.  A non-2xx
 * answer or "errors":true stops the program with status 1.  At the end it
 * prints "items N requests M" on stderr.
 *
 * The document: columns by name; json/jsonb strings parsed into objects;
 * one-dimensional arrays of simple elements split on commas (the bench table
 * has no quoted elements); timestamps rewritten to ISO 8601 so that
 * Elasticsearch's default date format accepts them.  _index is
 * "schema.table", _id the primary key values joined with "|".  With --raw
 * the values go into the document exactly as wal2json gives them (jsonb as
 * a string, arrays and timestamps in PostgreSQL's text form): the cheapest
 * consumer possible, whose documents are not the same as pg2es's.
 */

const http = require('http');
const readline = require('readline');

const args = process.argv.slice(2);
const raw = args[0] === '--raw';
if (raw)
	args.shift();
const base = new URL(args[0]);
const batchDocs = parseInt(args[1] || '1000', 10);
const lingerMs = parseInt(args[2] || '10', 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let batch = [];
let batchCount = 0;
let timer = null;
let chain = Promise.resolve();
let pending = 0;
let items = 0;
let requests = 0;

/* Converts one wal2json column value to its document value. */
function columnValue(col)
{
	const v = col.value;

	if (raw || v === null || typeof v !== 'string')
		return v;
	if (col.type === 'jsonb' || col.type === 'json')
		return JSON.parse(v);
	if (col.type.endsWith('[]'))
		return v.length <= 2 ? [] : v.slice(1, -1).split(',');
	if (col.type.startsWith('timestamp'))
	{
		const iso = v.replace(' ', 'T');
		return /[+-]\d\d$/.test(iso) ? iso + ':00' : iso;
	}
	return v;
}

/* The _id: the values of the primary key columns, joined with "|". */
function documentId(msg, cols)
{
	const names = msg.pk.map((k) => k.name);
	return names.map((n) => String(cols.find((c) => c.name === n).value)).join('|');
}

/* Appends the bulk item for one wal2json message; B/C/M messages give none. */
function appendItem(line)
{
	const msg = JSON.parse(line);
	const index = msg.schema + '.' + msg.table;

	if (msg.action === 'I' || msg.action === 'U')
	{
		const doc = {};
		for (const col of msg.columns)
			doc[col.name] = columnValue(col);
		batch.push(JSON.stringify({ index: { _index: index, _id: documentId(msg, msg.columns) } }),
			'\n', JSON.stringify(doc), '\n');
	}
	else if (msg.action === 'D')
		batch.push(JSON.stringify({ delete: { _index: index, _id: documentId(msg, msg.identity) } }), '\n');
	else
		return;
	batchCount++;
	items++;
}

/* POSTs one body; resolves when the answer is read and is a success. */
function post(body)
{
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: base.hostname, port: base.port, path: '/_bulk', method: 'POST', agent,
			headers: { 'Content-Type': 'application/x-ndjson', 'Content-Length': Buffer.byteLength(body) },
		}, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString();
				if (res.statusCode < 200 || res.statusCode > 299 || /"errors"\s*:\s*true/.test(text))
					reject(new Error('bulk failed: ' + res.statusCode + ' ' + text.slice(0, 200)));
				else
					resolve();
			});
		});
		req.on('error', reject);
		req.end(body);
	});
}

/* Sends the current batch after the ones already queued. */
function flush()
{
	if (timer)
	{
		clearTimeout(timer);
		timer = null;
	}
	if (batchCount === 0)
		return;
	const body = batch.join('');
	batch = [];
	batchCount = 0;
	requests++;
	pending++;
	rl.pause();
	chain = chain.then(() => post(body)).then(() => {
		pending--;
		if (pending === 0)
			rl.resume();
	});
	chain.catch((err) => {
		console.error('transform.js: ' + err.message);
		process.exit(1);
	});
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });

rl.on('line', (line) => {
	if (line.length === 0)
		return;
	appendItem(line);
	if (batchCount >= batchDocs)
		flush();
	else if (batchCount > 0 && timer === null)
		timer = setTimeout(flush, lingerMs);
});

rl.on('close', () => {
	flush();
	chain.then(() => {
		console.error('items ' + items + ' requests ' + requests);
		agent.destroy();
	});
});
