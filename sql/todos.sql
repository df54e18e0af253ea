-- The todos table of the reference article ("Sync data from postgres to
-- elasticsearch", Jun Wu, 2024: Debezium + Kafka + Confluent's Elasticsearch
-- connector), with a few rows so that the initial load has something to copy.
--
-- Run as the owner of the application's tables (in the Docker image: the
-- postgres user, in database demo), before sql/role.sql so that the role's
-- SELECT grant covers the table.
--
-- Row 2 is "Create bug issue": the article's second test renames it to
-- "Create bug issue edited" (UPDATE ... WHERE id = 2), and its first test
-- inserts "Publish new release", which becomes row 4.

CREATE TABLE public.todos (
	id serial4 PRIMARY KEY NOT NULL,
	title varchar(255) NULL,
	completed bool NULL,
	due timestamp(6) NULL
);

INSERT INTO public.todos (title, completed, due) VALUES
	('Fix 502 bug', false, '2024-02-15 16:00:00.000'),
	('Create bug issue', true, '2024-02-16 09:30:00.000'),
	('Write the release notes', false, NULL);
