package pg2es.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * A Kafka Connect sink connector writing records to Elasticsearch or
 * OpenSearch through _bulk, for the benchmark's reference chain: no
 * Elasticsearch or OpenSearch sink connector is served from Maven Central
 * here (tests/bench/README.md lists those tried).  It behaves as
 * Confluent's Elasticsearch sink does with the article's settings
 * (key.ignore=false, behavior.on.null.values=delete, schemas off): the
 * index is the topic's name, the _id the record key's single field, a
 * value is indexed as its JSON, a null value deletes.  Records of one put()
 * go out in requests of at most batch.size actions, up to
 * max.in.flight.requests of them at once (Confluent's defaults: 2000 and
 * 5), each record's document in the same request as the earlier records of
 * its key, so that no two writes of one document are in flight together.
 */
public class BulkSinkConnector extends SinkConnector
{
	static final String URL = "connection.url";
	static final String BATCH = "batch.size";
	static final String IN_FLIGHT = "max.in.flight.requests";

	static final ConfigDef CONFIG = new ConfigDef()
		.define(URL, ConfigDef.Type.STRING, ConfigDef.Importance.HIGH,
				"base URL of the engine, e.g. http://127.0.0.1:9200")
		.define(BATCH, ConfigDef.Type.INT, 2000, ConfigDef.Importance.MEDIUM,
				"actions per _bulk request")
		.define(IN_FLIGHT, ConfigDef.Type.INT, 5, ConfigDef.Importance.MEDIUM,
				"_bulk requests in flight at once");

	private Map<String, String> props;

	/** Keeps the configuration for the tasks. */
	@Override
	public void start(Map<String, String> props)
	{
		this.props = props;
	}

	/** The task class. */
	@Override
	public Class<? extends Task> taskClass()
	{
		return BulkSinkTask.class;
	}

	/** maxTasks copies of the configuration. */
	@Override
	public List<Map<String, String>> taskConfigs(int maxTasks)
	{
		List<Map<String, String>> configs = new ArrayList<>();

		for (int i = 0; i < maxTasks; i++)
			configs.add(props);
		return configs;
	}

	/** Nothing to release. */
	@Override
	public void stop()
	{
	}

	/** The options above. */
	@Override
	public ConfigDef config()
	{
		return CONFIG;
	}

	/** The benchmark's version of it. */
	@Override
	public String version()
	{
		return "1";
	}
}
