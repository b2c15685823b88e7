-- A version-4 newsmon database on PostgreSQL, created new at version 4 by
-- SqlStore.open, with rows written through the Store: the rows of the
-- version-3 snapshot (a feed with health fields; four seen items with their
-- texts, one of them the day before and matching nothing; two copies of one
-- story; in the outbox one alert delivered, one waiting for a digest due at
-- 13:00, one dead letter, one pending for a channel a later copy of the story
-- reached, its skipped copy having used up id 4; two messages), then a poll
-- at 14:00 that read the feed: it still carries guid:1 and guid:3 (their marks
-- refreshed to 14:00), no longer guid:4 (dropped_before 13:00); the other
-- feed was never read since (no feeds row). Dumped with pg_dump --inserts
-- --no-owner --no-privileges (comments and session settings removed).
-- Frozen: never regenerate it from newer code, or the upgrade tests stop
-- testing upgrades.

CREATE TABLE public.feeds (
    url text NOT NULL,
    etag text,
    last_modified text,
    next_poll_at timestamp with time zone,
    last_polled_at timestamp with time zone,
    failures integer NOT NULL,
    last_status integer,
    last_error text,
    last_new_item_at timestamp with time zone,
    cadence_s double precision,
    health text DEFAULT 'ok'::text NOT NULL,
    dropped_before timestamp with time zone
);

CREATE TABLE public.item_texts (
    fingerprint text NOT NULL,
    feed text NOT NULL,
    feed_title text NOT NULL,
    title text NOT NULL,
    summary text NOT NULL,
    content text NOT NULL,
    link text NOT NULL,
    published timestamp with time zone,
    seen_at timestamp with time zone NOT NULL
);

CREATE TABLE public.messages (
    id bigint NOT NULL,
    channel text NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    kind text NOT NULL
);

CREATE SEQUENCE public.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.messages_id_seq OWNED BY public.messages.id;

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    fingerprint text NOT NULL,
    channel text NOT NULL,
    payload json NOT NULL,
    created_at timestamp with time zone NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_attempt_at timestamp with time zone,
    delivered_at timestamp with time zone,
    last_error text,
    story text,
    digest_due timestamp with time zone,
    dead_at timestamp with time zone
);

CREATE SEQUENCE public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;

CREATE TABLE public.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone NOT NULL,
    summary text NOT NULL
);

CREATE TABLE public.seen_items (
    fingerprint text NOT NULL,
    feed text NOT NULL,
    title text NOT NULL,
    link text NOT NULL,
    seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone
);

CREATE TABLE public.story_items (
    fingerprint text NOT NULL,
    story text NOT NULL,
    signature bytea NOT NULL,
    link text NOT NULL,
    feed_title text NOT NULL,
    title text NOT NULL,
    seen_at timestamp with time zone NOT NULL
);

ALTER TABLE ONLY public.messages ALTER COLUMN id SET DEFAULT nextval('public.messages_id_seq'::regclass);

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

INSERT INTO public.feeds VALUES ('https://news.example.org/world.rss', 'W/"abc"', 'Wed, 01 May 2024 10:00:00 GMT', '2024-05-01 12:05:00+00', '2024-05-01 12:00:00+00', 0, 200, NULL, '2024-05-01 10:00:00+00', 1800, 'silent', '2024-05-01 13:00:00+00');

INSERT INTO public.item_texts VALUES ('guid:4', 'https://news.example.org/world.rss', 'Example World', 'Markets close higher', 'Stocks rose in Tokyo and Seoul.', 'Shares in Tokyo and Seoul rose for a third day.', 'https://news.example.org/guid:4', NULL, '2024-04-30 12:00:00+00');
INSERT INTO public.item_texts VALUES ('guid:1', 'https://news.example.org/world.rss', 'Example World', 'Strait tensions rise', 'Warships near Taiwan.', 'Taiwan said Chinese warships crossed the median line of the Taiwan Strait.', 'https://news.example.org/guid:1', '2024-05-01 11:55:00+00', '2024-05-01 12:00:00+00');
INSERT INTO public.item_texts VALUES ('guid:3', 'https://news.example.org/world.rss', 'Example World', 'Talks resume in Geneva', 'Envoys meet again on trade.', 'Negotiators from Washington and Beijing met in Geneva on tariffs.', 'https://news.example.org/guid:3', '2024-05-01 11:55:00+00', '2024-05-01 12:01:00+00');
INSERT INTO public.item_texts VALUES ('guid:2', 'https://other.example.net/feed', 'Other Wire', 'Strait tensions rise, says ministry', 'Warships near Taiwan.', '', 'https://news.example.org/guid:2', '2024-05-01 11:56:00+00', '2024-05-01 12:02:00+00');

INSERT INTO public.messages VALUES (1, 'mail', '2024-05-01 12:00:05+00', 'alert');
INSERT INTO public.messages VALUES (2, 'mail', '2024-05-01 12:04:00+00', 'admin');

INSERT INTO public.outbox VALUES (1, 'guid:1', 'chat', '{"fingerprint": "guid:1", "channel": "chat", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:00:00+00', 0, '2024-05-01 12:00:00+00', NULL, NULL, NULL, 'guid:1', '2024-05-01 13:00:00+00', NULL);
INSERT INTO public.outbox VALUES (5, 'guid:2', 'sms', '{"fingerprint": "guid:2", "channel": "sms", "title": "Strait tensions rise, says ministry", "link": "https://news.example.org/guid:2", "feed": "Other Wire", "published": "2024-05-01T11:56:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:02:00+00', 0, '2024-05-01 12:02:00+00', NULL, NULL, NULL, 'guid:1', NULL, NULL);
INSERT INTO public.outbox VALUES (2, 'guid:1', 'mail', '{"fingerprint": "guid:1", "channel": "mail", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:00:00+00', 1, '2024-05-01 12:00:00+00', '2024-05-01 12:00:05+00', '2024-05-01 12:00:05+00', NULL, 'guid:1', NULL, NULL);
INSERT INTO public.outbox VALUES (3, 'guid:3', 'mail', '{"fingerprint": "guid:3", "channel": "mail", "title": "Talks resume in Geneva", "link": "https://news.example.org/guid:3", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:01:00+00', 2, '2024-05-01 12:03:00+00', '2024-05-01 12:03:05+00', NULL, 'HTTP 401 Unauthorized', 'guid:3', NULL, '2024-05-01 12:03:05+00');

INSERT INTO public.schema_version VALUES (4, '2026-12-01 12:27:56.212179+00', 'new database');

INSERT INTO public.seen_items VALUES ('guid:4', 'https://news.example.org/world.rss', 'Markets close higher', 'https://news.example.org/guid:4', '2024-04-30 12:00:00+00', '2024-04-30 12:00:00+00');
INSERT INTO public.seen_items VALUES ('guid:2', 'https://other.example.net/feed', 'Strait tensions rise, says ministry', 'https://news.example.org/guid:2', '2024-05-01 12:02:00+00', '2024-05-01 12:02:00+00');
INSERT INTO public.seen_items VALUES ('guid:1', 'https://news.example.org/world.rss', 'Strait tensions rise', 'https://news.example.org/guid:1', '2024-05-01 12:00:00+00', '2024-05-01 14:00:00+00');
INSERT INTO public.seen_items VALUES ('guid:3', 'https://news.example.org/world.rss', 'Talks resume in Geneva', 'https://news.example.org/guid:3', '2024-05-01 12:01:00+00', '2024-05-01 14:00:00+00');

INSERT INTO public.story_items VALUES ('guid:1', 'guid:1', '\x0100000002000000000102030405060708090a0b0c0d0e0f', 'https://news.example.org/guid:1', 'Example World', 'Strait tensions rise', '2024-05-01 12:00:00+00');
INSERT INTO public.story_items VALUES ('guid:3', 'guid:3', '\x0100000003000000101112131415161718191a1b1c1d1e1f', 'https://news.example.org/guid:3', 'Example World', 'Talks resume in Geneva', '2024-05-01 12:01:00+00');
INSERT INTO public.story_items VALUES ('guid:2', 'guid:1', '\x0100000002000000000102030405060708090a0b0c0d0e0f', 'https://news.example.org/guid:2', 'Other Wire', 'Strait tensions rise, says ministry', '2024-05-01 12:02:00+00');

SELECT pg_catalog.setval('public.messages_id_seq', 2, true);

SELECT pg_catalog.setval('public.outbox_id_seq', 5, true);

ALTER TABLE ONLY public.feeds
    ADD CONSTRAINT feeds_pkey PRIMARY KEY (url);

ALTER TABLE ONLY public.item_texts
    ADD CONSTRAINT item_texts_pkey PRIMARY KEY (fingerprint);

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_one_alert_per_item_and_channel UNIQUE (fingerprint, channel);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_version
    ADD CONSTRAINT schema_version_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.seen_items
    ADD CONSTRAINT seen_items_pkey PRIMARY KEY (fingerprint);

ALTER TABLE ONLY public.story_items
    ADD CONSTRAINT story_items_pkey PRIMARY KEY (fingerprint);

CREATE INDEX item_texts_seen_at ON public.item_texts USING btree (seen_at, fingerprint);

CREATE INDEX messages_by_channel ON public.messages USING btree (channel, sent_at);

CREATE INDEX messages_sent_at ON public.messages USING btree (sent_at);

CREATE INDEX outbox_dead ON public.outbox USING btree (dead_at);

CREATE INDEX outbox_digest_due ON public.outbox USING btree (delivered_at, digest_due);

CREATE INDEX outbox_due ON public.outbox USING btree (delivered_at, next_attempt_at);

CREATE UNIQUE INDEX outbox_one_alert_per_story_and_channel ON public.outbox USING btree (story, channel);

CREATE INDEX seen_items_last_seen_at ON public.seen_items USING btree (last_seen_at);

CREATE INDEX story_items_seen_at ON public.story_items USING btree (seen_at);

CREATE INDEX story_items_story ON public.story_items USING btree (story);
