/*
 * test_es.c
 *		Unit tests for es.c: curl speaks nothing but HTTP and HTTPS, whatever
 *		URL reaches it (cfg.c refuses other schemes at start; this is the
 *		second line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "es.h"
#include "tap.h"

static bool request_to(Es *es, const char *url, EsResult *r);
static int	listen_on_loopback(int *port);
static void test_forbidden_action(void);

/*
 * request_to: GET url through es (freed, then set up again with that
 * single node), waiting up to 10 s for the outcome in *r (its body owned by
 * es). Returns false when no outcome came.
 */
static bool
request_to(Es *es, const char *url, EsResult *r)
{
	static char *urls[1];
	EsOptions	opt = {urls, 1, NULL, NULL, NULL, NULL, false, 10000};
	int			i;

	es_free(es);
	urls[0] = (char *) url;
	if (!es_init(es, &opt) || !es_request(es, "GET", "", NULL, 0, false))
		return false;
	for (i = 0; i < 100; i++)
	{
		if (!es_drive(es))
			return false;
		if (es_take_result(es, r))
			return true;
		if (!es_wait(es, NULL, 0, 100))
			return false;
	}
	return false;
}

/*
 * listen_on_loopback: a non-blocking listening socket on 127.0.0.1 and a
 * free port (into *port); -1 on failure.
 */
static int
listen_on_loopback(int *port)
{
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0 || listen(fd, 4) != 0 ||
		getsockname(fd, (struct sockaddr *) &sa, &len) != 0 ||
		fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

int
main(void)
{
	char		path[] = "/tmp/pg2es-test-es-XXXXXX";
	char		url[128];
	Es			es;
	EsResult	r;
	int			fd;
	int			port = 0;
	int			peer;

	memset(&es, 0, sizeof(es));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "local secret\n", 13) == 13, "local file written");
	close(fd);

	snprintf(url, sizeof(url), "file://%s", path);
	ok(request_to(&es, url, &r), "a file:// request has an outcome");
	ok(r.status == 0 && r.body->len == 0 && strstr(r.error, "rotocol") != NULL,
	   "file:// is refused by curl, the file not read (error: %s)", r.error);

	fd = listen_on_loopback(&port);
	ok(fd >= 0, "loopback listener");
	snprintf(url, sizeof(url), "gopher://127.0.0.1:%d", port);
	ok(request_to(&es, url, &r) && r.status == 0 && strstr(r.error, "rotocol") != NULL,
	   "gopher:// is refused by curl (error: %s)", r.error);
	peer = accept(fd, NULL, NULL);
	ok(peer < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "no connection was even opened");
	if (peer >= 0)
		close(peer);
	close(fd);

	unlink(path);
	es_free(&es);
	curl_global_cleanup();
	test_forbidden_action();
	return done_testing();
}

/*
 * test_forbidden_action: the action a 403 names is found in each shape
 * the engines answer with (bodies as a real OpenSearch 2.19 with security
 * and Elasticsearch's documentation give them), and mapped to what grants
 * it.
 */
static void
test_forbidden_action(void)
{
	static const char opensearch[] =
	"{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"no permissions for [cluster:monitor/main] and User [name=probe, backend_roles=[], requestedTenant=null]\"}],\"type\":\"security_exception\"},\"status\":403}";
	static const char shard[] =
	"{\"_shards\":{\"total\":2,\"successful\":0,\"failed\":2,\"failures\":[{\"shard\":0,\"index\":\"t1\",\"status\":\"FORBIDDEN\",\"reason\":{\"type\":\"security_exception\",\"reason\":\"no permissions for [indices:admin/refresh[s]] and User [name=p1]\"}}]}}";
	static const char elasticsearch[] =
	"{\"error\":{\"type\":\"security_exception\",\"reason\":\"action [indices:admin/refresh] is unauthorized for user [pg2es] with effective roles [pg2es] on indices [public.t]\"},\"status\":403}";
	char		action[128];
	char		tiny[8];

	ok(es_forbidden_action(opensearch, sizeof(opensearch) - 1, action, sizeof(action)) &&
	   strcmp(action, "cluster:monitor/main") == 0, "OpenSearch's refusal names %s", action);
	ok(strstr(es_privilege_for(action), "\"monitor\"") != NULL, "GET / needs the cluster privilege monitor");
	ok(es_forbidden_action(shard, sizeof(shard) - 1, action, sizeof(action)) &&
	   strcmp(action, "indices:admin/refresh[s]") == 0, "a shard failure's refusal keeps nested brackets: %s", action);
	ok(strstr(es_privilege_for(action), "\"maintenance\"") != NULL, "_refresh needs the index privilege maintenance");
	ok(es_forbidden_action(elasticsearch, sizeof(elasticsearch) - 1, action, sizeof(action)) &&
	   strcmp(action, "indices:admin/refresh") == 0, "Elasticsearch's refusal names %s", action);
	/* the body is not NUL-terminated: only len bytes are read */
	ok(!es_forbidden_action(opensearch, 40, action, sizeof(action)) && action[0] == '\0',
	   "a body cut before the action's end names none");
	ok(!es_forbidden_action(opensearch, sizeof(opensearch) - 1, tiny, sizeof(tiny)) && tiny[0] == '\0',
	   "an action longer than the buffer is not cut");
	ok(!es_forbidden_action("{\"error\":\"forbidden\"}", 21, action, sizeof(action)),
	   "a 403 naming no action names none");
	ok(strstr(es_privilege_for("indices:data/write/bulk[s]"), "indices:data/write/bulk*") != NULL &&
	   strstr(es_privilege_for("indices:data/write/bulk"), "cluster permission") != NULL,
	   "bulk: the index-level and the cluster-level permission are told apart");
}
