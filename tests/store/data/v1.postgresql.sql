-- A version-1 newsmon database on PostgreSQL, as newsmon made it before it kept a
-- schema version: tables created by SqlStore.open (metadata.create_all), rows
-- written through the Store (a feed's state; three seen items; in the outbox one
-- alert delivered, one pending and one failed once). Dumped with
-- pg_dump --inserts --no-owner --no-privileges. Frozen: never regenerate it from
-- newer code, or the upgrade tests stop testing upgrades.

CREATE TABLE public.feeds (
    url text NOT NULL,
    etag text,
    last_modified text,
    next_poll_at timestamp with time zone,
    last_polled_at timestamp with time zone,
    failures integer NOT NULL,
    last_status integer,
    last_error text
);

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
    last_error text
);

CREATE SEQUENCE public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;

CREATE TABLE public.seen_items (
    fingerprint text NOT NULL,
    feed text NOT NULL,
    title text NOT NULL,
    link text NOT NULL,
    seen_at timestamp with time zone NOT NULL
);

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

INSERT INTO public.feeds VALUES ('https://news.example.org/world.rss', 'W/"abc"', 'Wed, 01 May 2024 10:00:00 GMT', '2024-05-01 12:05:00+00', '2024-05-01 12:00:00+00', 0, 200, NULL);

INSERT INTO public.outbox VALUES (2, 'guid:1', 'chat', '{"fingerprint": "guid:1", "channel": "chat", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**."}', '2024-05-01 12:00:00+00', 0, '2024-05-01 12:00:00+00', NULL, NULL, NULL);
INSERT INTO public.outbox VALUES (1, 'guid:1', 'mail', '{"fingerprint": "guid:1", "channel": "mail", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**."}', '2024-05-01 12:00:00+00', 1, '2024-05-01 12:00:00+00', '2024-05-01 12:00:05+00', '2024-05-01 12:00:05+00', NULL);
INSERT INTO public.outbox VALUES (3, 'guid:2', 'mail', '{"fingerprint": "guid:2", "channel": "mail", "title": "Talks resume in Geneva", "link": "https://news.example.org/guid:2", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**."}', '2024-05-01 12:01:00+00', 1, '2024-05-01 12:03:00+00', '2024-05-01 12:01:05+00', NULL, 'Connection refused');

INSERT INTO public.seen_items VALUES ('guid:1', 'https://news.example.org/world.rss', 'Strait tensions rise', 'https://news.example.org/guid:1', '2024-05-01 12:00:00+00');
INSERT INTO public.seen_items VALUES ('guid:2', 'https://news.example.org/world.rss', 'Talks resume in Geneva', 'https://news.example.org/guid:2', '2024-05-01 12:01:00+00');
INSERT INTO public.seen_items VALUES ('guid:3', 'https://news.example.org/world.rss', 'Quiet day', 'https://news.example.org/guid:3', '2024-05-01 12:02:00+00');

SELECT pg_catalog.setval('public.outbox_id_seq', 3, true);

ALTER TABLE ONLY public.feeds
    ADD CONSTRAINT feeds_pkey PRIMARY KEY (url);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_one_alert_per_item_and_channel UNIQUE (fingerprint, channel);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.seen_items
    ADD CONSTRAINT seen_items_pkey PRIMARY KEY (fingerprint);

CREATE INDEX outbox_due ON public.outbox USING btree (delivered_at, next_attempt_at);
