package pg2es.bench;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/**
 * The task of BulkSinkConnector (its comment says what it writes).  put()
 * returns once every record it was given is stored, so the offsets Connect
 * commits after it are always safe.
 */
public class BulkSinkTask extends SinkTask
{
	private HttpClient client;
	private URI bulk;
	private int batch;
	private int inFlight;
	private final JsonConverter json = new JsonConverter();

	/** Reads the options; values become JSON without a schema envelope. */
	@Override
	public void start(Map<String, String> props)
	{
		AbstractConfig cfg = new AbstractConfig(BulkSinkConnector.CONFIG, props);
		String url = cfg.getString(BulkSinkConnector.URL).replaceAll("/+$", "");

		bulk = URI.create(url + "/_bulk?filter_path=errors,items.*.error");
		batch = cfg.getInt(BulkSinkConnector.BATCH);
		inFlight = Math.max(1, cfg.getInt(BulkSinkConnector.IN_FLIGHT));
		client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
		json.configure(Map.of("schemas.enable", "false", "converter.type", "value"));
	}

	/**
	 * Stores records: split into inFlight lanes by key (a key's records stay
	 * in one lane, in order), each lane sending its requests one after the
	 * other, the lanes at once.  Throws ConnectException when a request or
	 * an item failed, so that Connect retries from the committed offsets.
	 */
	@Override
	public void put(Collection<SinkRecord> records)
	{
		List<List<SinkRecord>> lanes = new ArrayList<>();
		List<CompletableFuture<Void>> sent = new ArrayList<>();

		for (int i = 0; i < inFlight; i++)
			lanes.add(new ArrayList<>());
		for (SinkRecord r : records)
			lanes.get(Math.floorMod(idOf(r).hashCode(), inFlight)).add(r);
		for (List<SinkRecord> lane : lanes)
		{
			CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);

			for (int from = 0; from < lane.size(); from += batch)
			{
				byte[] body = bodyOf(lane.subList(from, Math.min(lane.size(), from + batch)));

				chain = chain.thenCompose(v -> send(body));
			}
			sent.add(chain);
		}
		try
		{
			CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0])).join();
		}
		catch (CompletionException e)
		{
			throw new ConnectException("_bulk failed: " + e.getCause(), e.getCause());
		}
	}

	/** One _bulk request of body; fails when the answer is not a success. */
	private CompletableFuture<Void> send(byte[] body)
	{
		HttpRequest req = HttpRequest.newBuilder(bulk)
			.header("Content-Type", "application/x-ndjson")
			.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();

		return client.sendAsync(req, HttpResponse.BodyHandlers.ofString()).thenAccept(resp -> {
			String text = resp.body();

			if (resp.statusCode() != 200 || !text.startsWith("{\"errors\":false"))
				throw new ConnectException("_bulk answered " + resp.statusCode() + ": "
										   + text.substring(0, Math.min(500, text.length())));
		});
	}

	/** The NDJSON body for records: index the value, or delete on null. */
	private byte[] bodyOf(List<SinkRecord> records)
	{
		ByteArrayOutputStream out = new ByteArrayOutputStream();

		for (SinkRecord r : records)
		{
			String meta = "{\"_index\":\"" + escape(r.topic()) + "\",\"_id\":\""
				+ escape(idOf(r)) + "\"}}\n";

			if (r.value() == null)
			{
				out.writeBytes(("{\"delete\":" + meta).getBytes(StandardCharsets.UTF_8));
				continue;
			}
			out.writeBytes(("{\"index\":" + meta).getBytes(StandardCharsets.UTF_8));
			out.writeBytes(json.fromConnectData(r.topic(), r.valueSchema(), r.value()));
			out.write('\n');
		}
		return out.toByteArray();
	}

	/** The document id: the key's only (first) field as text. */
	private static String idOf(SinkRecord r)
	{
		Object key = r.key();

		if (key instanceof Struct s)
			return String.valueOf(s.get(s.schema().fields().get(0)));
		if (key instanceof Map<?, ?> m && !m.isEmpty())
			return String.valueOf(m.values().iterator().next());
		if (key == null)
			throw new ConnectException("a record without a key in " + r.topic());
		return key.toString();
	}

	/** s as the inside of a JSON string. */
	private static String escape(String s)
	{
		StringBuilder b = new StringBuilder(s.length() + 8);

		for (char c : s.toCharArray())
		{
			if (c == '"' || c == '\\')
				b.append('\\').append(c);
			else if (c < 0x20)
				b.append(String.format("\\u%04x", (int) c));
			else
				b.append(c);
		}
		return b.toString();
	}

	/** Nothing buffered between puts. */
	@Override
	public void stop()
	{
	}

	/** The benchmark's version of it. */
	@Override
	public String version()
	{
		return "1";
	}
}
